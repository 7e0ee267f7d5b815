// Umbrella header of the CCreditProto module: the generated protoc-c code plus shims.
#include "credit.pb-c.h"
#include "credit_shims.h"
