// Pure formatting for times, days and safety numbers. No DOM: unit-tested in Node.

const DAY_MS = 24 * 60 * 60 * 1000;

function startOfDay(ms: number): number {
  const d = new Date(ms);
  d.setHours(0, 0, 0, 0);
  return d.getTime();
}

/** A stable key for the calendar day (local time) of a timestamp. */
export function dayKey(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${d.getMonth() + 1}-${d.getDate()}`;
}

// Building an Intl.DateTimeFormat costs far more than using one; a long log formats thousands of times.
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(locale: string | undefined, options: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
  const key = `${locale ?? ""}|${JSON.stringify(options)}`;
  let format = formatters.get(key);
  if (!format) {
    format = new Intl.DateTimeFormat(locale, options);
    formatters.set(key, format);
  }
  return format;
}

/**
 * Builds, one per call, the formatters the inbox and the log use. The first Intl.DateTimeFormat of a
 * page loads the locale's data (tens of ms); run at idle, one step per idle period, the first row
 * that arrives does not pay for it. Returns the steps.
 */
export function formatterWarmups(locale?: string): Array<() => void> {
  const now = Date.now();
  return [
    () => formatRowTime(now, now, locale),
    () => formatRowTime(now - 3 * DAY_MS, now, locale),
    () => formatRowTime(now - 30 * DAY_MS, now, locale),
    () => formatDay(now - 3 * DAY_MS, now, locale),
    () => formatDay(now - 30 * DAY_MS, now, locale),
    // a message's time: every bubble of an opening conversation shows one
    () => formatTime(now, locale),
  ];
}

export function formatTime(ms: number, locale?: string): string {
  return formatter(locale, { hour: "2-digit", minute: "2-digit" }).format(ms);
}

/** "Today", "Yesterday", a weekday within the last week, otherwise a full date. */
export function formatDay(ms: number, now: number = Date.now(), locale?: string): string {
  const days = Math.round((startOfDay(now) - startOfDay(ms)) / DAY_MS);
  if (days === 0) return "Today";
  if (days === 1) return "Yesterday";
  if (days > 1 && days < 7) return formatter(locale, { weekday: "long" }).format(ms);
  const sameYear = new Date(ms).getFullYear() === new Date(now).getFullYear();
  return formatter(locale, { day: "numeric", month: "long", ...(sameYear ? {} : { year: "numeric" }) }).format(ms);
}

/** The inbox row's time: a clock time today, a short weekday this week, else a short date. */
export function formatRowTime(ms: number, now: number = Date.now(), locale?: string): string {
  const days = Math.round((startOfDay(now) - startOfDay(ms)) / DAY_MS);
  if (days === 0) return formatTime(ms, locale);
  if (days === 1) return "Yesterday";
  if (days > 1 && days < 7) return formatter(locale, { weekday: "short" }).format(ms);
  return formatter(locale, { day: "numeric", month: "short", ...(new Date(ms).getFullYear() === new Date(now).getFullYear() ? {} : { year: "2-digit" }) }).format(ms);
}

export type LogItem<M> = { kind: "day"; key: string; at: number } | { kind: "message"; key: string; message: M };

/**
 * Interleaves a day separator before the first message of each calendar day. With `leading` false
 * the first day gets none: when older messages are not loaded yet, that day may have begun earlier,
 * and a list that starts with a message keeps a stable first key for scroll anchoring.
 */
export function withDaySeparators<M extends { id: string; sentAt: number }>(messages: readonly M[], leading = true): LogItem<M>[] {
  const items: LogItem<M>[] = [];
  let current = leading || messages.length === 0 ? "" : dayKey(messages[0]!.sentAt);
  for (const message of messages) {
    const day = dayKey(message.sentAt);
    if (day !== current) {
      current = day;
      items.push({ kind: "day", key: `day:${day}`, at: message.sentAt });
    }
    items.push({ kind: "message", key: message.id, message });
  }
  return items;
}

/** 60 digits as twelve groups of five, the way Signal shows them; anything else is returned as is. */
export function groupSafetyNumber(digits: string): string[] {
  if (!/^\d{60}$/.test(digits)) return [digits];
  return digits.match(/\d{5}/g) ?? [digits];
}

/** Initials for an avatar: first letters of up to two words, else the first character of the handle. */
export function initials(name: string): string {
  const words = name
    .replace(/^[@+]/, "")
    .split(/[\s._-]+/)
    .filter(Boolean);
  const letters = words.slice(0, 2).map((w) => [...w][0] ?? "");
  return letters.join("").toUpperCase() || "?";
}

/** A file size as people read it: "512 B", "3.4 KB", "12.0 MB". */
export function formatBytes(n: number): string {
  if (n < 1000) return `${n} B`;
  if (n < 1_000_000) return `${(n / 1000).toFixed(1)} KB`;
  if (n < 1_000_000_000) return `${(n / 1_000_000).toFixed(1)} MB`;
  return `${(n / 1_000_000_000).toFixed(1)} GB`;
}
