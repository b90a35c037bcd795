// The join code, link and QR code, large enough to read from the back of a room (full screen; Esc closes).
'use client';
import { useEffect } from 'react';
import type { ClassDetail } from '../../server/protocol/classes';

export function Projector({ detail, onClose }: { detail: ClassDetail; onClose(): void }) {
  useEffect(() => {
    const key = (e: KeyboardEvent) => e.key === 'Escape' && onClose();
    window.addEventListener('keydown', key);
    return () => window.removeEventListener('keydown', key);
  }, [onClose]);
  return (
    <div
      role="dialog"
      aria-label="Join this class"
      data-testid="projector-view"
      className="fixed inset-0 z-50 flex flex-col items-center justify-center gap-[3vh] bg-white p-[3vh] text-black"
    >
      <p className="text-[4vh] font-semibold">{detail.name}</p>
      <div className="flex flex-wrap items-center justify-center gap-[6vw]">
        {/* An image, not inline markup: the SVG (qrcode package, class-api.ts) never becomes part of this page's DOM. */}
        {/* biome-ignore lint/performance/noImgElement: a server-made SVG data image; next/image adds nothing to it (static export) */}
        <img
          className="size-[min(60vh,45vw)]"
          style={{ imageRendering: 'pixelated' }}
          data-testid="qr"
          alt={`QR code of ${detail.link}`}
          src={`data:image/svg+xml;charset=utf-8,${encodeURIComponent(detail.qrSvg)}`}
        />
        <div className="text-center">
          <p className="text-[3vh]">Code</p>
          <p className="font-mono text-[14vh] font-bold leading-none tracking-[0.15em]" data-testid="projector-code">
            {detail.code}
          </p>
          <p className="mt-[3vh] break-all font-mono text-[3vh]">{detail.link}</p>
        </div>
      </div>
      <button type="button" onClick={onClose} className="absolute right-4 top-4 rounded-md border border-black/30 px-3 py-1 text-sm">
        Close (Esc)
      </button>
    </div>
  );
}
