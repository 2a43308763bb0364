"use client";
// The top of an open conversation (one conversation, or one person's merged timeline): back to the inbox
// (narrow screens), the avatar, what the view names, and its actions as round icon buttons.
import { ArrowLeft, type LucideIcon } from "lucide-react";
import type { ReactNode } from "react";
import type { BrandId } from "@/lib/brands";
import { Avatar } from "../ui/Avatar";

export function ConversationHeader({ name, brand, onBack, children, actions }: { name: string; brand: BrandId; onBack: () => void; children: ReactNode; actions: ReactNode }) {
  return (
    <header className="flex items-center gap-2 border-b border-slate-200 bg-white px-2 py-1.5 sm:gap-3 sm:px-3 sm:py-2 dark:border-slate-800 dark:bg-slate-900">
      <button
        type="button"
        onClick={onBack}
        aria-label="Back to the inbox"
        className="rounded-full p-1.5 hover:bg-slate-100 focus-visible:outline-2 focus-visible:outline-sky-600 md:hidden dark:hover:bg-slate-800"
      >
        <ArrowLeft aria-hidden="true" className="h-5 w-5" />
      </button>
      <Avatar name={name} brand={brand} size="sm" />
      <div className="min-w-0 flex-1">{children}</div>
      {actions}
    </header>
  );
}

/** A round icon button of the header, named `label`; `className` gives its gap and colours. */
export function HeaderButton({ label, icon: Icon, onClick, title, className = "gap-1 text-slate-700 dark:text-slate-200", iconClassName = "h-5 w-5", children }: {
  label: string;
  icon: LucideIcon;
  onClick: () => void;
  title?: string;
  className?: string;
  iconClassName?: string;
  children?: ReactNode;
}) {
  return (
    <button
      type="button"
      onClick={onClick}
      aria-label={label}
      title={title}
      className={`flex items-center rounded-full p-2 text-sm hover:bg-slate-100 focus-visible:outline-2 focus-visible:outline-sky-600 dark:hover:bg-slate-800 ${className}`}
    >
      <Icon aria-hidden="true" className={iconClassName} />
      {children}
    </button>
  );
}
