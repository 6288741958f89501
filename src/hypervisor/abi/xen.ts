/**
 * The paravirtual guest ABI: hypercall numbers, sub-op numbers, error codes and struct layouts,
 * verbatim from Xen's public headers (xen/include/public: xen.h, errno.h, event_channel.h,
 * grant_table.h, memory.h, sched.h, vcpu.h, version.h, hvm/params.h, hvm/hvm_op.h) with the
 * 64-bit non-x86 layout of arch-arm.h: xen_ulong_t and xen_pfn_t are uint64, guest handles are
 * 8-byte pointers, shared_info holds XEN_LEGACY_MAX_VCPUS = 1 vcpu_info (48 bytes: ARM has no
 * upcall mask byte and an empty arch_vcpu_info).
 *
 * A guest calls with `ecall` from VS-mode: a7 = DOMUS_HYPERCALL_EID, a6 = the hypercall number,
 * a0..a5 = the arguments; a0 returns the result (0 or more on success, a negative errno). Pointers
 * in arguments are guest-virtual addresses of the calling vCPU (see docs/abi.md). Frozen: values
 * here never change meaning; new ones are only added.
 */

/** The Domus SBI extension (firmware-specific range, "XEN" after a 0x0A prefix). */
export const DOMUS_HYPERCALL_EID = 0x0a58454e;

/** Xen's interface version we report (XENVER_version: major << 16 | minor). */
export const XEN_VERSION_MAJOR = 4;
export const XEN_VERSION_MINOR = 19;

// ---- hypercall numbers (xen.h) -------------------------------------------------------------
export const __HYPERVISOR_memory_op = 12;
export const __HYPERVISOR_xen_version = 17;
export const __HYPERVISOR_console_io = 18;
export const __HYPERVISOR_grant_table_op = 20;
export const __HYPERVISOR_vcpu_op = 24;
export const __HYPERVISOR_xsm_op = 27;
export const __HYPERVISOR_sched_op = 29;
export const __HYPERVISOR_event_channel_op = 32;
export const __HYPERVISOR_hvm_op = 34;

// ---- errno.h (returned negated) --------------------------------------------------------------
export const EPERM = 1;
export const ENOENT = 2;
export const ESRCH = 3;
export const EAGAIN = 11;
export const ENOMEM = 12;
export const EACCES = 13;
export const EFAULT = 14;
export const EBUSY = 16;
export const EEXIST = 17;
export const EINVAL = 22;
export const ENOSPC = 28;
export const ENOSYS = 38;
export const EOPNOTSUPP = 95;

// ---- domain ids (xen.h) -----------------------------------------------------------------------
export const DOMID_FIRST_RESERVED = 0x7ff0;
export const DOMID_SELF = 0x7ff0;
export const DOMID_INVALID = 0x7ff4;

// ---- console_io, VIRQs (xen.h) ---------------------------------------------------------------
export const CONSOLEIO_write = 0;
export const CONSOLEIO_read = 1;
export const VIRQ_TIMER = 0;
export const VIRQ_DEBUG = 1;
export const VIRQ_CONSOLE = 2;
export const VIRQ_DOM_EXC = 3;
export const VIRQ_XENOPROF = 7;
export const VIRQ_XENPMU = 13;
export const NR_VIRQS = 24;
/** Per-vCPU VIRQs (the others are global and bind on vCPU 0 only). */
export function virqIsPerVcpu(virq: number): boolean {
  return virq === VIRQ_TIMER || virq === VIRQ_DEBUG || virq === VIRQ_XENOPROF || virq === VIRQ_XENPMU;
}

// ---- shared_info and vcpu_info (xen.h, arch-arm.h) -------------------------------------------
export const VCPU_INFO_evtchn_upcall_pending = 0; // uint8
export const VCPU_INFO_evtchn_pending_sel = 8; // xen_ulong_t
export const VCPU_INFO_time = 16; // vcpu_time_info (32 bytes)
export const VCPU_INFO_BYTES = 48;
export const XEN_LEGACY_MAX_VCPUS = 1;
export const SHARED_INFO_vcpu_info = 0;
export const SHARED_INFO_evtchn_pending = 48; // xen_ulong_t[64]
export const SHARED_INFO_evtchn_mask = 560; // xen_ulong_t[64]
export const SHARED_INFO_wc_version = 1072;
export const SHARED_INFO_wc_sec = 1076;
export const SHARED_INFO_wc_nsec = 1080;
export const SHARED_INFO_wc_sec_hi = 1084;
export const SHARED_INFO_BYTES = 1088;
/** 2-level ABI: xen_ulong_t bits squared. */
export const EVTCHN_2L_NR_CHANNELS = 64 * 64;

// ---- event_channel.h -------------------------------------------------------------------------
export const EVTCHNOP_bind_interdomain = 0;
export const EVTCHNOP_bind_virq = 1;
export const EVTCHNOP_bind_pirq = 2;
export const EVTCHNOP_close = 3;
export const EVTCHNOP_send = 4;
export const EVTCHNOP_status = 5;
export const EVTCHNOP_alloc_unbound = 6;
export const EVTCHNOP_bind_ipi = 7;
export const EVTCHNOP_bind_vcpu = 8;
export const EVTCHNOP_unmask = 9;

export const EVTCHNSTAT_closed = 0;
export const EVTCHNSTAT_unbound = 1;
export const EVTCHNSTAT_interdomain = 2;
export const EVTCHNSTAT_pirq = 3;
export const EVTCHNSTAT_virq = 4;
export const EVTCHNSTAT_ipi = 5;

/** struct evtchn_alloc_unbound: IN dom, remote_dom; OUT port. */
export const evtchn_alloc_unbound = { dom: 0, remote_dom: 2, port: 4, BYTES: 8 } as const;
/** struct evtchn_bind_interdomain: IN remote_dom, remote_port; OUT local_port. */
export const evtchn_bind_interdomain = { remote_dom: 0, remote_port: 4, local_port: 8, BYTES: 12 } as const;
/** struct evtchn_bind_virq: IN virq, vcpu; OUT port. */
export const evtchn_bind_virq = { virq: 0, vcpu: 4, port: 8, BYTES: 12 } as const;
/** struct evtchn_bind_ipi: IN vcpu; OUT port. */
export const evtchn_bind_ipi = { vcpu: 0, port: 4, BYTES: 8 } as const;
/** struct evtchn_close, evtchn_send, evtchn_unmask: IN port. */
export const evtchn_port_arg = { port: 0, BYTES: 4 } as const;
/** struct evtchn_status: IN dom, port; OUT status, vcpu, u (unbound.dom | interdomain.{dom,port} | virq). */
export const evtchn_status = {
  dom: 0,
  port: 4,
  status: 8,
  vcpu: 12,
  u_dom: 16,
  u_port: 20,
  u_virq: 16,
  BYTES: 24,
} as const;

// ---- grant_table.h ---------------------------------------------------------------------------
export const GNTTABOP_map_grant_ref = 0;
export const GNTTABOP_unmap_grant_ref = 1;
export const GNTTABOP_setup_table = 2;
export const GNTTABOP_copy = 5;
export const GNTTABOP_query_size = 6;
export const GNTTABOP_set_version = 8;
export const GNTTABOP_get_version = 10;

/** grant_entry_v1: flags (uint16), domid (domid_t), frame (uint32). */
export const grant_entry_v1 = { flags: 0, domid: 2, frame: 4, BYTES: 8 } as const;
export const GRANT_ENTRIES_PER_FRAME = 4096 / grant_entry_v1.BYTES;

export const GTF_type_mask = 3;
export const GTF_invalid = 0;
export const GTF_permit_access = 1;
export const GTF_accept_transfer = 2;
export const GTF_transitive = 3;
export const GTF_readonly = 1 << 2;
export const GTF_reading = 1 << 3;
export const GTF_writing = 1 << 4;
export const GTF_sub_page = 1 << 8;

export const GNTMAP_device_map = 1 << 0;
export const GNTMAP_host_map = 1 << 1;
export const GNTMAP_readonly = 1 << 2;
export const GNTMAP_application_map = 1 << 3;
export const GNTMAP_contains_pte = 1 << 4;

export const GNTCOPY_source_gref = 1 << 0;
export const GNTCOPY_dest_gref = 1 << 1;

export const GNTST_okay = 0;
export const GNTST_general_error = -1;
export const GNTST_bad_domain = -2;
export const GNTST_bad_gntref = -3;
export const GNTST_bad_handle = -4;
export const GNTST_bad_virt_addr = -5;
export const GNTST_bad_dev_addr = -6;
export const GNTST_no_device_space = -7;
export const GNTST_permission_denied = -8;
export const GNTST_bad_page = -9;
export const GNTST_bad_copy_arg = -10;
export const GNTST_address_too_big = -11;
export const GNTST_eagain = -12;
export const GNTST_no_space = -13;

/** struct gnttab_map_grant_ref: IN host_addr, flags, ref, dom; OUT status, handle, dev_bus_addr. */
export const gnttab_map_grant_ref = {
  host_addr: 0,
  flags: 8,
  ref: 12,
  dom: 16,
  status: 18,
  handle: 20,
  dev_bus_addr: 24,
  BYTES: 32,
} as const;
/** struct gnttab_unmap_grant_ref: IN host_addr, dev_bus_addr, handle; OUT status. */
export const gnttab_unmap_grant_ref = {
  host_addr: 0,
  dev_bus_addr: 8,
  handle: 16,
  status: 20,
  BYTES: 24,
} as const;
/** struct gnttab_setup_table: IN dom, nr_frames; OUT status; IN frame_list (xen_pfn_t handle). */
export const gnttab_setup_table = { dom: 0, nr_frames: 4, status: 8, frame_list: 16, BYTES: 24 } as const;
/** struct gnttab_query_size: IN dom; OUT nr_frames, max_nr_frames, status. */
export const gnttab_query_size = { dom: 0, nr_frames: 4, max_nr_frames: 8, status: 12, BYTES: 16 } as const;
/** struct gnttab_copy: source and dest gnttab_copy_ptr {u (ref | gmfn), domid, offset}, len, flags; OUT status. */
export const gnttab_copy = {
  source_u: 0,
  source_domid: 8,
  source_offset: 10,
  dest_u: 16,
  dest_domid: 24,
  dest_offset: 26,
  len: 32,
  flags: 34,
  status: 36,
  BYTES: 40,
} as const;
/** struct gnttab_get_version / set_version. */
export const gnttab_get_version = { dom: 0, pad: 2, version: 4, BYTES: 8 } as const;

// ---- memory.h --------------------------------------------------------------------------------
export const XENMEM_increase_reservation = 0;
export const XENMEM_decrease_reservation = 1;
export const XENMEM_current_reservation = 3;
export const XENMEM_maximum_reservation = 4;
export const XENMEM_populate_physmap = 6;
export const XENMEM_add_to_physmap = 7;
export const XENMAPSPACE_shared_info = 0;
export const XENMAPSPACE_grant_table = 1;
export const XENMAPSPACE_gmfn = 2;
export const XENMAPIDX_grant_table_status = 0x80000000;

/** struct xen_memory_reservation: extent_start (handle), nr_extents, extent_order, mem_flags, domid. */
export const xen_memory_reservation = {
  extent_start: 0,
  nr_extents: 8,
  extent_order: 16,
  mem_flags: 20,
  domid: 24,
  BYTES: 32,
} as const;
/** struct xen_add_to_physmap: domid, size, space, idx, gpfn. */
export const xen_add_to_physmap = { domid: 0, size: 2, space: 4, idx: 8, gpfn: 16, BYTES: 24 } as const;

// ---- sched.h ---------------------------------------------------------------------------------
export const SCHEDOP_yield = 0;
export const SCHEDOP_block = 1;
export const SCHEDOP_shutdown = 2;
export const SCHEDOP_poll = 3;
export const SHUTDOWN_poweroff = 0;
export const SHUTDOWN_reboot = 1;
export const SHUTDOWN_suspend = 2;
export const SHUTDOWN_crash = 3;
export const SHUTDOWN_watchdog = 4;
/** struct sched_shutdown: reason. */
export const sched_shutdown = { reason: 0, BYTES: 4 } as const;
/** struct sched_poll: ports (evtchn_port_t handle), nr_ports, timeout (ns of system time; 0 = none). */
export const sched_poll = { ports: 0, nr_ports: 8, timeout: 16, BYTES: 24 } as const;

// ---- vcpu.h ----------------------------------------------------------------------------------
export const VCPUOP_initialise = 0;
export const VCPUOP_up = 1;
export const VCPUOP_down = 2;
export const VCPUOP_is_up = 3;
export const VCPUOP_set_singleshot_timer = 8;
export const VCPUOP_stop_singleshot_timer = 9;
export const VCPUOP_register_vcpu_info = 10;
/** struct vcpu_set_singleshot_timer: timeout_abs_ns, flags. */
export const vcpu_set_singleshot_timer = { timeout_abs_ns: 0, flags: 8, BYTES: 16 } as const;

// ---- version.h -------------------------------------------------------------------------------
export const XENVER_version = 0;
export const XENVER_extraversion = 1;
export const XENVER_capabilities = 3;
export const XENVER_get_features = 6;
export const XENVER_pagesize = 7;
export const XEN_EXTRAVERSION_LEN = 16;
export const XEN_CAPABILITIES_INFO_LEN = 1024;
/** struct xen_feature_info: submap_idx (IN), submap (OUT). */
export const xen_feature_info = { submap_idx: 0, submap: 4, BYTES: 8 } as const;
/** features.h: the guest runs with an auto-translated physmap, as on ARM. */
export const XENFEAT_writable_page_tables = 0;
export const XENFEAT_auto_translated_physmap = 2;
export const XENFEAT_hvm_callback_vector = 8;

// ---- hvm_op.h, hvm/params.h ------------------------------------------------------------------
export const HVMOP_set_param = 0;
export const HVMOP_get_param = 1;
/** struct xen_hvm_param: domid, pad, index, value. */
export const xen_hvm_param = { domid: 0, index: 4, value: 8, BYTES: 16 } as const;
export const HVM_PARAM_CALLBACK_IRQ = 0;
export const HVM_PARAM_STORE_PFN = 1;
export const HVM_PARAM_STORE_EVTCHN = 2;
export const HVM_PARAM_CONSOLE_PFN = 17;
export const HVM_PARAM_CONSOLE_EVTCHN = 18;
export const HVM_NR_PARAMS = 39;
