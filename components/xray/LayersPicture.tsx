// SVG of the overlay: merged, upper and lower as stacked slabs, each with the names it holds; pointing at a name says its layer.
'use client';
import type { XrayFile } from '../../server/protocol/xray';
import type { Source } from './xray-state';

const W = 400;
const SKEW = 14;
const SLAB = 70;
const GAP = 12;
const CHAR = 6.4;

export interface Chip {
  key: string;
  label: string;
  cls: string;
  info: string;
  strike?: boolean;
}

export const SOURCE_CHIP: Record<Source, { cls: string; words: string }> = {
  image: { cls: 'fill-raised stroke-line', words: 'from the image (lower layer), unchanged' },
  upper: { cls: 'fill-accent/15 stroke-accent', words: 'from the upper layer: it hides anything the image has there' },
  both: { cls: 'fill-role-outer/15 stroke-role-outer', words: 'a directory merged from both layers: image entries plus upper changes' },
  deleted: { cls: 'fill-bad/10 stroke-bad', words: 'deleted: a whiteout in the upper layer hides the image’s entry' },
};

export const CHANGE_CHIP: Record<XrayFile['change'], { cls: string; words: string }> = {
  created: { cls: 'fill-ok/15 stroke-ok', words: 'created in the box: only the upper layer has it' },
  modified: { cls: 'fill-warn/15 stroke-warn', words: 'modified: copied up from the image, the upper copy hides the original' },
  deleted: { cls: 'fill-bad/10 stroke-bad', words: 'deleted: a whiteout (character device 0:0) hides the image’s file' },
  opaque: { cls: 'fill-role-child/15 stroke-role-child', words: 'opaque directory: recreated in the box, hides the image’s contents' },
};

/** Lays chips left to right in at most two lines; returns what fits and how many did not. */
function layout(chips: Chip[], x0: number, width: number): { placed: Array<Chip & { x: number; line: number; w: number }>; more: number } {
  const placed: Array<Chip & { x: number; line: number; w: number }> = [];
  let x = x0;
  let line = 0;
  for (const c of chips) {
    const w = Math.min(150, c.label.length * CHAR + 12);
    if (x + w > x0 + width) {
      if (line === 1) break;
      line = 1;
      x = x0;
    }
    placed.push({ ...c, x, line, w });
    x += w + 5;
  }
  return { placed, more: chips.length - placed.length };
}

function Slab(props: {
  y: number;
  title: string;
  note: string;
  chips: Chip[];
  slabCls: string;
  onPoint: (info: string | null) => void;
  testId: string;
}) {
  const { y } = props;
  // Inside the slanted slab: its left edge is at SKEW on top and 0 at the bottom.
  const { placed, more } = layout(props.chips, SKEW + 4, W - 2 * SKEW - 10);
  return (
    <g data-testid={props.testId}>
      <path d={`M ${SKEW} ${y} H ${W} L ${W - SKEW} ${y + SLAB} H 0 Z`} className={props.slabCls} strokeWidth={1.3} />
      <text x={SKEW + 6} y={y + 16} fontSize={12} fontWeight={600} className="fill-fg">
        {props.title}
        <tspan dx={8} fontSize={10.5} fontWeight={400} className="fill-muted">
          {props.note}
        </tspan>
      </text>
      {placed.map((c) => (
        <g
          key={c.key}
          tabIndex={0}
          role="button"
          aria-label={`${c.label}: ${c.info}`}
          data-chip={c.label}
          onMouseEnter={() => props.onPoint(`${c.label}: ${c.info}`)}
          onFocus={() => props.onPoint(`${c.label}: ${c.info}`)}
          onMouseLeave={() => props.onPoint(null)}
          onBlur={() => props.onPoint(null)}
          className="cursor-help outline-none"
        >
          <rect x={c.x} y={y + 25 + c.line * 21} width={c.w} height={17} rx={4} className={c.cls} strokeWidth={1} />
          <text
            x={c.x + 6}
            y={y + 37 + c.line * 21}
            fontSize={10.5}
            className="fill-fg font-mono"
            textDecoration={c.strike ? 'line-through' : undefined}
          >
            {c.label.length * CHAR + 12 > 150 ? `${c.label.slice(0, 20)}…` : c.label}
          </text>
        </g>
      ))}
      {more > 0 && (
        <text x={W - SKEW - 8} y={y + SLAB - 6} textAnchor="end" fontSize={10} className="fill-muted">
          +{more} more
        </text>
      )}
    </g>
  );
}

export function LayersPicture(props: {
  merged: Chip[];
  upper: Chip[];
  lower: Chip[];
  upperNote: string;
  onPoint: (info: string | null) => void;
}) {
  const H = SLAB * 3 + GAP * 2 + 2;
  return (
    <svg
      viewBox={`-1 -1 ${W + 2} ${H}`}
      width="100%"
      role="img"
      aria-labelledby="layers-title"
      aria-describedby="layers-desc"
      className="block"
    >
      <desc id="layers-desc">
        Three layers. Merged, what the box sees as its root: {props.merged.map((c) => c.label).join(', ')}. Upper, writable:{' '}
        {props.upper.length} changes. Lower, the read-only image: {props.lower.map((c) => c.label).join(', ')}.
      </desc>
      <Slab
        testId="slab-merged"
        y={0}
        title="merged"
        note="what the box sees as /"
        chips={props.merged}
        slabCls="fill-panel stroke-fg/40"
        onPoint={props.onPoint}
      />
      <Slab
        testId="slab-upper"
        y={SLAB + GAP}
        title="upper"
        note={props.upperNote}
        chips={props.upper}
        slabCls="fill-accent/5 stroke-accent"
        onPoint={props.onPoint}
      />
      <Slab
        testId="slab-lower"
        y={(SLAB + GAP) * 2}
        title="lower"
        note="the image, read-only"
        chips={props.lower}
        slabCls="fill-raised stroke-line"
        onPoint={props.onPoint}
      />
    </svg>
  );
}
