// The virtualiser reads its scroll element's size synchronously when it mounts, which forces a
// layout of the whole page in the middle of a React commit. A ResizeObserver reports the size
// right after the browser's own layout instead, when reading it costs nothing.
import { elementScroll, type Rect, type Virtualizer } from "@tanstack/react-virtual";

/** For useVirtualizer's `observeElementRect`; pair it with `initialRect` so the first render has rows. */
export function observeRectAfterLayout<T extends Element>(instance: Virtualizer<HTMLDivElement, T>, cb: (rect: Rect) => void): (() => void) | undefined {
  const element = instance.scrollElement;
  if (!element) return undefined;
  const report = () => cb({ width: element.clientWidth, height: element.clientHeight });
  const Observer = element.ownerDocument.defaultView?.ResizeObserver;
  if (!Observer) {
    report();
    return undefined;
  }
  // fires once after the first layout, then on every resize
  const observer = new Observer(report);
  observer.observe(element);
  return () => observer.disconnect();
}

/** A first guess at the scroll element's size: the window, which is never smaller than the list. */
export function windowRect(): Rect {
  return typeof window === "undefined" ? { width: 0, height: 0 } : { width: window.innerWidth, height: window.innerHeight };
}

/**
 * For `scrollToFn`: the virtualiser scrolls a freshly attached element to where it thinks it is,
 * which for a list at the top is a no-op that still forces a layout mid-commit. Such writes are skipped.
 */
export function scrollUnlessAlreadyThere<T extends Element>(offset: number, options: { adjustments?: number; behavior?: ScrollBehavior }, instance: Virtualizer<HTMLDivElement, T>): void {
  const target = offset + (options.adjustments ?? 0);
  if (target === 0 && (instance.scrollOffset ?? 0) === 0) return;
  elementScroll(offset, options, instance);
}
