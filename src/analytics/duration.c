/* Durations of the detectors' options (duration.h). */
#include "duration.h"
#include "../core/err.h"

#include <errno.h>
#include <stdlib.h>

#define DURATION_MAX_S (3650ULL * 86400)

int duration_parse_ms(const char *s, uint64_t *ms)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    uint64_t unit = 1000;
    if (errno || end == s || s[0] == '-' || s[0] == '+')
        return FS_EINVAL;
    if (*end == 's' || *end == 'm' || *end == 'h' || *end == 'd') {
        unit = *end == 'm' ? 60000 : *end == 'h' ? 3600000 : *end == 'd' ? 86400000 : 1000;
        end++;
    }
    if (*end || v == 0 || v > DURATION_MAX_S || v * (unit / 1000) > DURATION_MAX_S)
        return FS_EINVAL;
    *ms = v * unit;
    return 0;
}
