#ifndef JOURNAL_BRIDGE_CSYSTEMD_SHIM_H
#define JOURNAL_BRIDGE_CSYSTEMD_SHIM_H
#include <systemd/sd-journal.h>
#include <systemd/sd-daemon.h>
#endif
