/* Names and messages of eds_status, from the one table in status.def. */
#include "edsim.h"

static const char *const names[] = {
#define EDS_STATUS(name, msg) #name,
#include "status.def"
#undef EDS_STATUS
};

static const char *const messages[] = {
#define EDS_STATUS(name, msg) msg,
#include "status.def"
#undef EDS_STATUS
};

const char *eds_status_name(int status)
{
    return (status >= 0 && status < EDS_N_STATUS) ? names[status] : "UNKNOWN";
}

const char *eds_status_message(int status)
{
    return (status >= 0 && status < EDS_N_STATUS) ? messages[status] : "unknown status";
}
