// The protobuf-c runtime: unpacking, packing and freeing of generated messages.
#include <protobuf-c/protobuf-c.h>
