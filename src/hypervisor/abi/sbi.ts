/**
 * The SBI (RISC-V Supervisor Binary Interface, v2.0) as the Domus hypervisor implements it for
 * its guests: extension and function ids and error codes, verbatim from the SBI specification
 * (riscv-non-isa/riscv-sbi-doc). A guest calls with `ecall` from VS-mode: a7 = extension id,
 * a6 = function id, a0..a5 = arguments; a0 returns the error code and a1 the value.
 */

export const SBI_SPEC_VERSION = (2 << 24) | 0; // 2.0
/** SBI implementation id reported by BASE get_impl_id (not a registered one: "DM", for Domus). */
export const SBI_IMPL_ID_DOMUS = 0x444d;
export const SBI_IMPL_VERSION = 1;

export const enum SbiEid {
  // Legacy extensions (v0.1): the function is the extension id itself.
  LEGACY_SET_TIMER = 0x00,
  LEGACY_CONSOLE_PUTCHAR = 0x01,
  LEGACY_CONSOLE_GETCHAR = 0x02,
  LEGACY_CLEAR_IPI = 0x03,
  LEGACY_SEND_IPI = 0x04,
  LEGACY_REMOTE_FENCE_I = 0x05,
  LEGACY_REMOTE_SFENCE_VMA = 0x06,
  LEGACY_REMOTE_SFENCE_VMA_ASID = 0x07,
  LEGACY_SHUTDOWN = 0x08,
  BASE = 0x10,
  TIME = 0x54494d45,
  IPI = 0x735049,
  RFENCE = 0x52464e43,
  HSM = 0x48534d,
  SRST = 0x53525354,
  DBCN = 0x4442434e,
  STA = 0x535441,
}

export const enum SbiBase {
  GET_SPEC_VERSION = 0,
  GET_IMPL_ID = 1,
  GET_IMPL_VERSION = 2,
  PROBE_EXTENSION = 3,
  GET_MVENDORID = 4,
  GET_MARCHID = 5,
  GET_MIMPID = 6,
}

export const enum SbiRfence {
  REMOTE_FENCE_I = 0,
  REMOTE_SFENCE_VMA = 1,
  REMOTE_SFENCE_VMA_ASID = 2,
  REMOTE_HFENCE_GVMA_VMID = 3,
  REMOTE_HFENCE_GVMA = 4,
  REMOTE_HFENCE_VVMA_ASID = 5,
  REMOTE_HFENCE_VVMA = 6,
}

export const enum SbiHsm {
  HART_START = 0,
  HART_STOP = 1,
  HART_GET_STATUS = 2,
  HART_SUSPEND = 3,
}

/** HSM hart states (hart_get_status). */
export const enum HartState {
  STARTED = 0,
  STOPPED = 1,
  START_PENDING = 2,
  STOP_PENDING = 3,
  SUSPENDED = 4,
  SUSPEND_PENDING = 5,
  RESUME_PENDING = 6,
}

export const enum SbiSrst {
  SYSTEM_RESET = 0,
}

export const enum SrstType {
  SHUTDOWN = 0,
  COLD_REBOOT = 1,
  WARM_REBOOT = 2,
}

export const enum SbiDbcn {
  CONSOLE_WRITE = 0,
  CONSOLE_READ = 1,
  CONSOLE_WRITE_BYTE = 2,
}

export const enum SbiSta {
  SET_SHMEM = 0,
}

/** Standard SBI error codes (returned in a0). */
export const enum SbiError {
  SUCCESS = 0,
  FAILED = -1,
  NOT_SUPPORTED = -2,
  INVALID_PARAM = -3,
  DENIED = -4,
  INVALID_ADDRESS = -5,
  ALREADY_AVAILABLE = -6,
  ALREADY_STARTED = -7,
  ALREADY_STOPPED = -8,
  NO_SHMEM = -9,
}

/** Size of the steal-time record the STA extension writes (struct sbi_sta_struct). */
export const SBI_STA_STRUCT_BYTES = 64;
