// libpq, PostgreSQL's C client (Debian: libpq-dev, pkg-config libpq), 15 here.
#include <libpq-fe.h>
