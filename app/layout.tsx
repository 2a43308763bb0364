import type { Metadata, Viewport } from "next";
import { headers } from "next/headers";
import type { ReactNode } from "react";
import "./globals.css";

// The relay sets a fresh CSP nonce per request; Next only stamps it on its scripts when it renders per request.
export const dynamic = "force-dynamic";

export const metadata: Metadata = {
  title: "Junction",
  description: "One end-to-end-encrypted inbox for WhatsApp, Instagram and Messenger.",
  applicationName: "Junction",
  appleWebApp: { capable: true, title: "Junction", statusBarStyle: "black-translucent" },
  icons: { icon: "/icons/icon-192.png", apple: "/icons/apple-touch-icon.png" },
  formatDetection: { telephone: false },
};

export const viewport: Viewport = {
  width: "device-width",
  initialScale: 1,
  colorScheme: "light dark",
  themeColor: [
    { media: "(prefers-color-scheme: light)", color: "#f8fafc" },
    { media: "(prefers-color-scheme: dark)", color: "#0f172a" },
  ],
};

export default async function RootLayout({ children }: { children: ReactNode }) {
  // Reading the request makes the page dynamic, so the nonce in the request's CSP reaches every script tag.
  await headers();
  return (
    <html lang="en">
      <body className="h-full bg-slate-50 text-slate-900 antialiased dark:bg-slate-950 dark:text-slate-100">{children}</body>
    </html>
  );
}
