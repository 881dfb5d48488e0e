// The binding registry: see EventBinding and BindingRegistry.
public import CloudEvents
