// The first screen, painted before the app has loaded: a copy of the inbox as it was last shown, kept in
// local storage and put on screen by a small inline script (FIRST_SCREEN_SCRIPT, in app/layout.tsx) while
// the document is still being parsed, so a person sees their conversations at the first paint instead of
// after the scripts, hydration, the database open and the first queries. The copy is inert (no focus, no
// pointer, hidden from assistive technology) and goes as soon as the real inbox has its rows
// (dismissFirstScreen), or after a few seconds whatever happens.
//
// What is kept: the markup React rendered (text escaped by React; ids and references between elements
// dropped), only of the plain inbox ("All", no search, scrolled to the top, no conversation open on a narrow
// screen) and never while a conversation on the first screen has disappearing messages (its preview must
// not outlive the message). Logging out clears local storage, the copy with it. Runtime: browser.
import { useEffect, useLayoutEffect, type RefObject } from "react";
import { FIRST_SCREEN_ID, FIRST_SCREEN_KEY, FIRST_SCREEN_MAX_CHARS, VERSION, WIDE_MEDIA } from "./firstScreenScript";

export { WIDE_MEDIA } from "./firstScreenScript";

export interface FirstScreenCopy {
  v: number;
  /** The markup of the app's root element. */
  html: string;
  wide: boolean;
  dark: boolean;
  savedAt: number;
}

/** Attributes that tie elements together or to the live page: meaningless (or misleading) in a copy. */
const DROPPED_ATTRIBUTES = ["id", "aria-labelledby", "aria-describedby", "aria-controls", "aria-activedescendant", "aria-owns", "for", "tabindex", "autofocus"];

/** The copy of `root` as the inline script will show it, or null when it must not be kept. */
export function copyOf(root: HTMLElement, now: number): FirstScreenCopy | null {
  // a list scrolled down would be copied without its scroll position: the copy would show the wrong rows
  for (const el of Array.from(root.querySelectorAll("*"))) if (el.scrollTop > 0) return null;
  // cloned into a document without a window: nothing in the copy loads or runs while it is made (an image
  // cloned into the page would load its source again)
  const inert = document.implementation.createHTMLDocument("");
  const clone = inert.importNode(root, true);
  // dialogs, live announcements and the open conversation are not part of a first screen
  for (const el of Array.from(clone.querySelectorAll("dialog, [role=alert], [role=status][aria-live]"))) el.remove();
  const main = clone.querySelector("main");
  main?.replaceChildren();
  for (const el of Array.from(clone.querySelectorAll("*"))) {
    for (const name of DROPPED_ATTRIBUTES) el.removeAttribute(name);
    // nothing that runs: React never renders these, but a copy is checked all the same
    for (const attr of Array.from(el.attributes)) if (/^on/i.test(attr.name) || /^\s*javascript:/i.test(attr.value)) el.removeAttribute(attr.name);
    // object URLs die with the page: the copy could not show them, and they name this page's memory
    for (const name of ["src", "srcset", "poster", "href"]) if (/^\s*blob:/i.test(el.getAttribute(name) ?? "")) el.removeAttribute(name);
    if (/^(script|iframe|object|embed|style|link|meta|template)$/i.test(el.tagName)) el.remove();
  }
  const html = clone.outerHTML;
  if (html.length > FIRST_SCREEN_MAX_CHARS) return null;
  return { v: VERSION, html, wide: matchMedia(WIDE_MEDIA).matches, dark: document.documentElement.classList.contains("dark"), savedAt: now };
}

export function saveFirstScreen(copy: FirstScreenCopy | null): void {
  try {
    if (copy) localStorage.setItem(FIRST_SCREEN_KEY, JSON.stringify(copy));
    else localStorage.removeItem(FIRST_SCREEN_KEY);
  } catch {
    // storage refused (private mode, quota): the app just starts without the early copy
  }
}

/**
 * Takes the early copy off the screen (the real inbox is there, or another screen is). The element itself is
 * React's (app/layout.tsx): it is emptied, never removed.
 */
export function dismissFirstScreen(): void {
  if (typeof document === "undefined") return;
  const el = document.getElementById(FIRST_SCREEN_ID);
  if (!el || !el.hasChildNodes()) return;
  el.replaceChildren();
  for (const name of ["style", "class", "aria-hidden"]) el.removeAttribute(name);
  el.inert = false;
}


/**
 * Keeps the copy of `root` current while `keep` says the inbox is in its plain state with its rows: a
 * second after the last change to the rows (`version`), and when the page is hidden or closed. `keep`
 * false (a search, a filter, a disappearing conversation in view) drops any copy.
 */
export function useFirstScreenCopy(root: RefObject<HTMLElement | null>, keep: boolean | null, version: unknown): void {
  useEffect(() => {
    if (keep === null) return;
    if (!keep) {
      saveFirstScreen(null);
      return;
    }
    const save = () => {
      const el = root.current;
      if (el) saveFirstScreen(copyOf(el, Date.now()));
    };
    const timer = setTimeout(save, 1_000);
    const onHide = () => {
      if (document.visibilityState === "hidden") save();
    };
    document.addEventListener("visibilitychange", onHide);
    window.addEventListener("pagehide", save);
    return () => {
      clearTimeout(timer);
      document.removeEventListener("visibilitychange", onHide);
      window.removeEventListener("pagehide", save);
    };
  }, [root, keep, version]);
}

/**
 * Takes the early copy away once `ready` and `shown()` says the real screen has what the copy showed (in a
 * layout effect, then frame by frame: the copy never leaves a blank frame behind it).
 */
export function useDismissFirstScreen(ready: boolean, shown: () => boolean = () => true): void {
  useLayoutEffect(() => {
    if (!ready) return;
    let frame = 0;
    let frames = 0;
    const check = () => {
      // a list that never shows its rows (nothing to show) lets the copy go within a few frames
      if (shown() || ++frames > 10) dismissFirstScreen();
      else frame = requestAnimationFrame(check);
    };
    check();
    return () => cancelAnimationFrame(frame);
  }, [ready, shown]);
}
