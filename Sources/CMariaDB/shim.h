// MariaDB Connector/C (Debian: libmariadb-dev, pkg-config libmariadb), 3.3 here; speaks to
// MariaDB and MySQL 8.
#include <mysql.h>
