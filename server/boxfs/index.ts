// boxfs: how the host reads (and writes) files a box controls without ever following a link a student made.
//
// Why: Judge0's CVE-2024-28185/28189 were a host that read and wrote box files by path and so followed the symlinks
// the submission planted (to /etc/shadow, to a host file it then overwrote); runc's CVE-2021-30465 was the same
// through a race, a directory swapped for a symlink between the check and the use. Here no path through a box is
// ever handed to the kernel whole: each name is opened with O_NOFOLLOW beneath an fd we already hold (at.ts), `..`
// is refused, FIFOs are opened O_NONBLOCK and only regular files are read, reads are capped, and files or processes
// that vanish mid-walk are expected.
//
// Three layers, one primitive:
// - fd.ts: fd-based, null when gone (the x-ray sampler: openDir, readAt, readText, listAt, lstatAt, readlinkAt);
// - beneath.ts: strict path-beneath, throws UnsafePathError (openBeneath, readFileBeneath, writeFileBeneath,
//   readProcFile: the security probes and any host write into a box);
// - lookup.ts: lenient path-beneath, null when absent or behind a link (lesson checks: lstatBeneath, statDirBeneath,
//   readHeadBeneath).
export { absent, at, gone, O_CLOEXEC, openDirAt, openFileAt, openRoot, orAbsent, tryOr } from './at.ts';
export { closeFd, listAt, lstatAt, openDir, readAt, readlinkAt, readText, readUpTo } from './fd.ts';
export {
  descend,
  fileBoxPath,
  openBeneath,
  openDirBeneath,
  readFileBeneath,
  readProcFile,
  splitBoxPath,
  UnsafePathError,
  writeFileBeneath,
} from './beneath.ts';
export { lstatBeneath, readHeadBeneath, statDirBeneath } from './lookup.ts';
