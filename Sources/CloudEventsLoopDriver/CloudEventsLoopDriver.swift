// The C-library network loop driver.
import CloudEvents
