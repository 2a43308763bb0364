"use client";
// The theme: "dark" as a class on <html> (Tailwind's dark variant follows it), chosen in Settings and
// kept in the database; local storage holds a copy so the first paint of the next visit is already right.
import { useEffect } from "react";
import type { Settings } from "./types";

export const THEME_STORAGE_KEY = "junction:theme";

function apply(theme: Settings["theme"]): void {
  const dark = theme === "dark" || (theme === "system" && window.matchMedia("(prefers-color-scheme: dark)").matches);
  const root = document.documentElement;
  root.classList.toggle("dark", dark);
  root.style.colorScheme = dark ? "dark" : "light";
}

/** Applies the theme and follows the system's while the theme is "system". */
export function useTheme(theme: Settings["theme"]): void {
  useEffect(() => {
    apply(theme);
    try {
      localStorage.setItem(THEME_STORAGE_KEY, theme);
    } catch {
      // without storage the next visit starts from the system theme, then switches once settings load
    }
    if (theme !== "system") return;
    const media = window.matchMedia("(prefers-color-scheme: dark)");
    const onChange = () => apply("system");
    media.addEventListener("change", onChange);
    return () => media.removeEventListener("change", onChange);
  }, [theme]);
}
