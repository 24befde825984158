/* Finding the CPUs: ACPI MADT, else the ncpus= option, else one. */
#ifndef DRK_ACPI_H
#define DRK_ACPI_H

#include "types.h"

enum cpu_source { CPU_SOURCE_DEFAULT, CPU_SOURCE_CMDLINE, CPU_SOURCE_MADT };

void acpi_find_cpus(void);
u64 acpi_lapic_phys(void);
enum cpu_source acpi_cpu_source(void);
/* Where the RSDP was found: "hvm_start_info", "BIOS area scan" or "none". */
const char *acpi_rsdp_source(void);

#endif
