import { BRANDS, type BrandId } from "@/lib/brands";

/** A brand's name on a tint of its colour; the dot carries the colour for those who see it. */
export function BrandBadge({ brand, label }: { brand: BrandId; label?: string }) {
  const { name, color } = BRANDS[brand];
  return (
    <span
      className="inline-flex items-center gap-1 rounded-full border px-1.5 py-px text-[11px] font-medium leading-4 whitespace-nowrap"
      style={{ borderColor: `${color}66`, backgroundColor: `${color}1a` }}
    >
      <span aria-hidden="true" className="h-1.5 w-1.5 rounded-full" style={{ backgroundColor: color }} />
      {label ?? name}
    </span>
  );
}
