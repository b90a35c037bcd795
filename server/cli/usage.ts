// usage.ts: the help text of `boxlab` and of each subcommand; every subcommand answers -h/--help with exit 0.
import { helpRows } from '../protocol/settings.ts';
import { runUsage } from './args.ts';

export const USAGE = `usage: boxlab <command> [options]

commands:
  run       run a shell or command in a fresh sandbox
  rootfs    build or rebuild the default image (--debian for a Debian minbase via debootstrap)
  serve     start the playground web server (what \`npm start\` runs; --lessons DIR adds a lesson pack)
  lesson    lesson check DIR: lint a lesson pack and prove every step in a real box (docs/authoring.md)
  sweep     remove what crashed sandboxes left behind (mounts, cgroups, processes)

\`boxlab <command> --help\` tells more about each.`;

export const ROOTFS_USAGE = `usage: boxlab rootfs [--debian] [--base-dir DIR]

Builds the image a box boots from (its read-only lower layer), replacing an old one atomically.

  --debian           a Debian minbase image via debootstrap (needs network and the debootstrap package)
                     instead of the default busybox image (from Debian's busybox-static, in seconds)
  --base-dir DIR     where to build it (default: the default image path under BOXLAB_HOME)
  -h, --help         this help

Needs root.`;

export const LESSON_USAGE = `usage: boxlab lesson check DIR [--lint-only] [--lesson SLUG]...

Lints the lesson pack in DIR (a folder of <slug>.md lessons, optional images and pack.yaml), then proves every step in
a real sandbox (as root): the check is red before the action and after the step's \`wrong\` commands, green after its
\`solution\`. Prints one row per step; exits 1 when any lesson fails to parse or to prove. See docs/authoring.md.

  --lint-only        only lint (schema errors with file:line); no box, no root needed
  --lesson SLUG      prove only this lesson (repeatable)
  -h, --help         this help`;

export const SWEEP_USAGE = `usage: boxlab sweep

Removes what sandboxes of a crashed or killed boxlab left behind: their processes, mounts, cgroups and state
under BOXLAB_RUN (default /run/boxlab). Boxes of a boxlab process that is still alive are left alone.

  -h, --help         this help

Needs root.`;

function serveUsage(): string {
  return `usage: boxlab serve [--flag VALUE ...]

Starts the playground web server: builds the default image and the web bundle if missing, sweeps leftovers of a
crashed run, then serves http://HOST:PORT until SIGTERM/SIGINT (every box is destroyed on the way out).

Each setting is a flag or an environment variable (the flag wins); sizes like 256M, 1G or 64MiB, durations like
30m or 2h (server/protocol/settings.ts, the README's table):

${helpRows('serve').join('\n')}

Needs root.`;
}

/** The help text of a subcommand, or null for an unknown one. */
export function usageOf(cmd: string): string | null {
  switch (cmd) {
    case 'run':
      return runUsage();
    case 'rootfs':
      return ROOTFS_USAGE;
    case 'serve':
      return serveUsage();
    case 'sweep':
      return SWEEP_USAGE;
    case 'lesson':
      return LESSON_USAGE;
    default:
      return null;
  }
}

/** -h or --help among a subcommand's own options (not in the command after `--` of `boxlab run`). */
export function wantsHelp(argv: string[]): boolean {
  const own = argv.includes('--') ? argv.slice(0, argv.indexOf('--')) : argv;
  return own.includes('--help') || own.includes('-h');
}

export const SUBCOMMANDS = ['run', 'rootfs', 'serve', 'lesson', 'sweep'] as const;
