"use client";
import QRCode from "qrcode";
import { useMemo } from "react";

/** A QR code drawn as SVG rectangles from the module matrix: no image, no innerHTML. */
export function QrCode({ data, label }: { data: Uint8Array; label: string }) {
  const path = useMemo(() => {
    const { modules } = QRCode.create([{ data, mode: "byte" }], { errorCorrectionLevel: "M" });
    const parts: string[] = [];
    for (let row = 0; row < modules.size; row++) {
      for (let col = 0; col < modules.size; col++) {
        if (modules.get(row, col)) parts.push(`M${col + 4} ${row + 4}h1v1h-1z`);
      }
    }
    return { d: parts.join(""), size: modules.size + 8 };
  }, [data]);

  return (
    <svg role="img" aria-label={label} viewBox={`0 0 ${path.size} ${path.size}`} className="h-48 w-48 rounded-lg bg-white" shapeRendering="crispEdges">
      <path d={path.d} fill="#0f172a" />
    </svg>
  );
}
