"use client";
// Create an account on one brand: the brand's handle rule is explained beside the field and checked
// as the person types; the relay's answer (taken, offline) is shown in words.
import { useId, useState, type FormEvent } from "react";
import { BRAND_IDS, BRANDS, isAddressError, parseHandle, type BrandId } from "@/lib/brands";
import { createAccount, describeError } from "@/lib/hooks/actions";
import { BrandBadge } from "./ui/BrandBadge";

const MAX_NAME = 64;

interface AccountFormProps {
  /** Brands that already have an account on this device (one per brand). */
  usedBrands: readonly BrandId[];
  onCreated?: (address: string) => void;
}

export function AccountForm({ usedBrands, onCreated }: AccountFormProps) {
  const free = BRAND_IDS.filter((b) => !usedBrands.includes(b));
  const [chosen, setChosen] = useState<BrandId | null>(free[0] ?? null);
  // a brand taken meanwhile (another tab, the dialog reopened) falls back to the first free one
  const brand = chosen && free.includes(chosen) ? chosen : (free[0] ?? null);
  const [handle, setHandle] = useState("");
  const [displayName, setDisplayName] = useState("");
  const [touched, setTouched] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const ids = { legend: useId(), rule: useId(), handleError: useId(), preview: useId(), error: useId() };

  if (!brand) {
    return <p className="text-sm text-slate-600 dark:text-slate-300">You already have an account on every brand on this device.</p>;
  }

  const parsed = handle.trim() ? parseHandle(brand, handle) : null;
  // the rule itself is printed right above the field, so the error only has to say it is broken
  const handleError = parsed && isAddressError(parsed) ? `That is not a valid ${BRANDS[brand].name} handle.` : null;
  const showHandleError = touched && handleError !== null;
  const address = parsed && !isAddressError(parsed) ? parsed.address : null;

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    setTouched(true);
    setError(null);
    if (!brand) return;
    if (!address || !parsed || isAddressError(parsed)) {
      setError(handle.trim() ? handleError : `Enter a ${BRANDS[brand].name} handle.`);
      return;
    }
    const name = displayName.trim();
    if (!name) {
      setError("Enter a display name.");
      return;
    }
    setBusy(true);
    try {
      const created = await createAccount(brand, parsed.handle, name);
      setHandle("");
      setDisplayName("");
      setTouched(false);
      onCreated?.(created.address);
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form onSubmit={submit} noValidate aria-describedby={error ? ids.error : undefined} className="flex flex-col gap-5">
      <div className="flex flex-col gap-2">
        <p id={ids.legend} className="text-sm font-medium">
          Brand
        </p>
        <div role="radiogroup" aria-labelledby={ids.legend} className="grid grid-cols-3 gap-2">
          {BRAND_IDS.map((id) => {
            const taken = usedBrands.includes(id);
            return (
              <label
                key={id}
                className={`relative flex cursor-pointer flex-col items-center gap-1 rounded-xl border-2 px-2 py-3 text-sm font-medium has-[:focus-visible]:outline-2 has-[:focus-visible]:outline-sky-500 ${
                  taken ? "cursor-not-allowed opacity-50" : ""
                }`}
                style={{ borderColor: brand === id ? BRANDS[id].color : "transparent", backgroundColor: `${BRANDS[id].color}14` }}
              >
                <input
                  type="radio"
                  name="brand"
                  value={id}
                  checked={brand === id}
                  disabled={taken}
                  onChange={() => {
                    setChosen(id);
                    setError(null);
                  }}
                  // invisible but covering the whole card, so a click anywhere on it is a click on the radio
                  className="absolute inset-0 h-full w-full cursor-pointer appearance-none opacity-0 disabled:cursor-not-allowed"
                />
                <span aria-hidden="true" className="h-3 w-3 rounded-full" style={{ backgroundColor: BRANDS[id].color }} />
                {BRANDS[id].name}
                {taken ? <span className="text-[11px] font-normal">already here</span> : null}
              </label>
            );
          })}
        </div>
      </div>

      <div className="flex flex-col gap-1">
        <label htmlFor={`${ids.rule}-input`} className="text-sm font-medium">
          Handle
        </label>
        <input
          id={`${ids.rule}-input`}
          type="text"
          autoComplete="username"
          autoCapitalize="none"
          spellCheck={false}
          inputMode={brand === "whatsapp" ? "tel" : "text"}
          data-autofocus
          placeholder={BRANDS[brand].example}
          value={handle}
          onChange={(e) => setHandle(e.target.value)}
          onBlur={() => setTouched(true)}
          aria-invalid={showHandleError || undefined}
          aria-describedby={`${ids.rule} ${showHandleError ? ids.handleError : ids.preview}`}
          className="rounded-lg border border-slate-300 bg-white px-3 py-2 text-base outline-none focus:border-sky-500 focus:ring-2 focus:ring-sky-500/30 aria-[invalid]:border-red-500 dark:border-slate-700 dark:bg-slate-950"
        />
        <p id={ids.rule} className="text-xs text-slate-600 dark:text-slate-400">
          <BrandBadge brand={brand} /> {BRANDS[brand].rule}
        </p>
        {showHandleError ? (
          <p id={ids.handleError} className="text-xs text-red-600 dark:text-red-400">
            {handleError}
          </p>
        ) : (
          <p id={ids.preview} className="text-xs text-slate-600 dark:text-slate-400">
            {address ? `Your address will be ${address}` : "\u00a0"}
          </p>
        )}
      </div>

      <div className="flex flex-col gap-1">
        <label htmlFor={`${ids.preview}-name`} className="text-sm font-medium">
          Display name
        </label>
        <input
          id={`${ids.preview}-name`}
          type="text"
          autoComplete="nickname"
          maxLength={MAX_NAME}
          value={displayName}
          onChange={(e) => setDisplayName(e.target.value)}
          className="rounded-lg border border-slate-300 bg-white px-3 py-2 text-base outline-none focus:border-sky-500 focus:ring-2 focus:ring-sky-500/30 dark:border-slate-700 dark:bg-slate-950"
        />
        <p className="text-xs text-slate-600 dark:text-slate-400">How the people you write to see you.</p>
      </div>

      {error ? (
        <p id={ids.error} role="alert" className="rounded-lg bg-red-50 px-3 py-2 text-sm text-red-800 dark:bg-red-950 dark:text-red-200">
          {error}
        </p>
      ) : null}

      <button
        type="submit"
        disabled={busy}
        aria-busy={busy || undefined}
        className="rounded-xl bg-slate-900 px-4 py-2.5 font-semibold text-white hover:bg-slate-700 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-sky-500 disabled:opacity-60 dark:bg-slate-100 dark:text-slate-900 dark:hover:bg-white"
      >
        Create account
      </button>
    </form>
  );
}
