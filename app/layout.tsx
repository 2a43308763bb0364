import type { Metadata, Viewport } from "next";
import { headers } from "next/headers";
import type { ReactNode } from "react";
import { FIRST_SCREEN_ID, FIRST_SCREEN_SCRIPT } from "@/lib/hooks/firstScreenScript";
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

// Runs before the first paint: the theme chosen in Settings (a copy kept in local storage), else the
// system's, so a dark-mode reader never sees a white flash. lib/hooks/theme.ts keeps it right afterwards.
const THEME_SCRIPT = `try{var t=localStorage.getItem("junction:theme");var d=t==="dark"||(t!=="light"&&matchMedia("(prefers-color-scheme: dark)").matches);document.documentElement.classList.toggle("dark",d);document.documentElement.style.colorScheme=d?"dark":"light"}catch(e){}`;

export default async function RootLayout({ children }: { children: ReactNode }) {
  // Reading the request makes the page dynamic, so the nonce in the request's CSP reaches every script tag.
  const csp = (await headers()).get("content-security-policy") ?? "";
  const nonce = /'nonce-([^']+)'/.exec(csp)?.[1];
  return (
    <html lang="en" suppressHydrationWarning>
      <head>
        <script nonce={nonce} dangerouslySetInnerHTML={{ __html: THEME_SCRIPT }} />
      </head>
      <body className="h-full bg-slate-50 text-slate-900 antialiased dark:bg-slate-950 dark:text-slate-100">
        {/* the kept first screen goes in here before the app's scripts run (lib/hooks/firstScreen.ts) */}
        <div id={FIRST_SCREEN_ID} suppressHydrationWarning dangerouslySetInnerHTML={{ __html: "" }} />
        <script nonce={nonce} dangerouslySetInnerHTML={{ __html: FIRST_SCREEN_SCRIPT }} />
        {children}
      </body>
    </html>
  );
}
