// libprotobuf-c (Debian: libprotobuf-c-dev, pkg-config libprotobuf-c), 1.4.1 here.
#include <protobuf-c/protobuf-c.h>
