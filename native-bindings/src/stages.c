/* stages.c: stage names shared by the library and the helper program; ids match STAGES in server/engine/types.ts. */
#include "boxlab_child.h"

static const char *const STAGE_NAMES[] = {
    "prepare_state",  "fork1",         "cgroup_create",
    "upper_tmpfs",    "unshare_user",  "uid_map",
    "overlay_mount",  "cgroup_attach", "unshare_ns",
    "hostname",       "net_lo_up",     "fork2",
    "mount_private",  "mount_proc",    "mount_dev",
    "mask_paths",     "pty_open",      "pivot_root",
    "chdir",          "seccomp",       "drop_privileges",
    "exec",           "running",       "child_exit",
    "umount_proc",    "umount_dev",    "namespaced_parent_exit",
    "overlay_umount", "cgroup_remove", "cleanup_done",
};

BX_API int bx_abi_version(void) { return BX_ABI_VERSION; }
BX_API int bx_event_size(void) { return (int)sizeof(struct bx_event); }
BX_API const char *bx_stage_name(int s) {
  return (s >= 0 && s < (int)(sizeof STAGE_NAMES / sizeof *STAGE_NAMES)) ? STAGE_NAMES[s] : "";
}
