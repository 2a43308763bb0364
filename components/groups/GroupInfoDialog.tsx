"use client";
// Group info: the members with their brands (admins marked); admins add, remove, make and unmake admins,
// rename the group and choose who may add members; anyone leaves. A change the rules refuse says why ("Only admins of this group can do that.").
import { useId, useState, type FormEvent, type InputHTMLAttributes } from "react";
import { brandOf, handleOf, type Address } from "@/lib/brands";
import { changeGroup, describeGroupError } from "@/lib/hooks/actions";
import type { GroupAction, GroupMemberRow, GroupRow } from "@/lib/hooks/types";
import { BrandBadge } from "../ui/BrandBadge";
import { Dialog } from "../ui/Dialog";
import { MenuButton } from "../ui/Menu";
import { ADDRESS_INPUT, parseMember } from "./NewGroupDialog";

interface Props {
  open: boolean;
  onClose: () => void;
  conversationId: string;
  group: GroupRow;
  names: ReadonlyMap<string, string>;
}

export function GroupInfoDialog({ open, onClose, conversationId, group, names }: Props) {
  const [error, setError] = useState<string | null>(null);
  const [adding, setAdding] = useState(false);
  const [renaming, setRenaming] = useState(false);
  const policyId = useId();
  const me = group.ourAddress;
  const iAmAdmin = group.members.some((m) => m.address === me && m.admin);
  const run = (action: GroupAction) => {
    setError(null);
    changeGroup(conversationId, action).catch((err: unknown) => setError(describeGroupError(err)));
  };
  const label = (a: Address) => (a === me ? "You" : (names.get(a) ?? handleOf(a)));
  return (
    <Dialog open={open} onClose={onClose} title={group.name} description={group.left ? "You are no longer in this group." : `${group.members.length} members`}>
      <div className="flex flex-col gap-3">
        <ul aria-label="Members" className="flex max-h-80 flex-col gap-1 overflow-y-auto">
          {group.members.map((m) => (
            <MemberItem key={m.address} member={m} name={label(m.address)} mine={m.address === me} canAct={!group.left} onAction={run} />
          ))}
        </ul>
        {error ? (
          <p role="alert" className="rounded-lg bg-red-50 px-3 py-2 text-sm text-red-800 dark:bg-red-950 dark:text-red-200">
            {error}
          </p>
        ) : null}
        {group.left ? null : (
          <div className="flex flex-wrap gap-2">
            <button
              type="button"
              onClick={() => setAdding((v) => !v)}
              aria-expanded={adding}
              className="rounded-lg border border-slate-300 px-3 py-1.5 text-sm font-medium hover:bg-slate-100 focus-visible:outline-2 focus-visible:outline-sky-600 dark:border-slate-700 dark:hover:bg-slate-800"
            >
              Add members
            </button>
            {iAmAdmin ? (
              <button
                type="button"
                onClick={() => setRenaming((v) => !v)}
                aria-expanded={renaming}
                className="rounded-lg border border-slate-300 px-3 py-1.5 text-sm font-medium hover:bg-slate-100 focus-visible:outline-2 focus-visible:outline-sky-600 dark:border-slate-700 dark:hover:bg-slate-800"
              >
                Rename group
              </button>
            ) : null}
            <button
              type="button"
              onClick={() => run({ type: "leave" })}
              className="rounded-lg border border-red-300 px-3 py-1.5 text-sm font-medium text-red-800 hover:bg-red-50 focus-visible:outline-2 focus-visible:outline-sky-600 dark:border-red-800 dark:text-red-200 dark:hover:bg-red-950"
            >
              Leave group
            </button>
          </div>
        )}
        {group.left ? null : (
          <label className="flex items-center gap-2 text-sm">
            <input
              type="checkbox"
              checked={group.addPolicy === "members"}
              disabled={!iAmAdmin}
              onChange={(e) => run({ type: "addPolicy", addPolicy: e.target.checked ? "members" : "admins" })}
              aria-describedby={iAmAdmin ? undefined : `${policyId}-why`}
            />
            Every member can add members
            {iAmAdmin ? null : (
              <span id={`${policyId}-why`} className="text-xs text-slate-600 dark:text-slate-400">
                (admins choose)
              </span>
            )}
          </label>
        )}
        {renaming && iAmAdmin && !group.left ? (
          <RenameGroup
            current={group.name}
            onRename={async (name) => {
              setError(null);
              try {
                await changeGroup(conversationId, { type: "rename", name });
                setRenaming(false);
              } catch (err) {
                setError(describeGroupError(err));
              }
            }}
          />
        ) : null}
        {adding && !group.left ? (
          <AddMembers
            iAmAdmin={iAmAdmin || group.addPolicy === "members"}
            onAdd={async (members) => {
              setError(null);
              try {
                await changeGroup(conversationId, { type: "add", members });
                setAdding(false);
              } catch (err) {
                setError(describeGroupError(err));
              }
            }}
          />
        ) : null}
      </div>
    </Dialog>
  );
}

function MemberItem({ member, name, mine, canAct, onAction }: { member: GroupMemberRow; name: string; mine: boolean; canAct: boolean; onAction: (a: GroupAction) => void }) {
  const brand = brandOf(member.address);
  return (
    <li className="flex items-center gap-2 rounded-lg px-2 py-1.5 hover:bg-slate-50 dark:hover:bg-slate-800/60">
      {brand ? <BrandBadge brand={brand} /> : null}
      <span className="min-w-0 flex-1 truncate">
        <span className="font-medium">{name}</span>{" "}
        <span className="text-xs text-slate-600 dark:text-slate-400">{handleOf(member.address)}</span>
      </span>
      {member.admin ? <span className="rounded bg-sky-100 px-1.5 text-xs font-medium text-sky-900 dark:bg-sky-900 dark:text-sky-100">Admin</span> : null}
      {canAct && !mine ? (
        <MenuButton
          label="Member actions"
          className="rounded-full p-1.5 text-slate-700 hover:bg-slate-200 focus-visible:outline-2 focus-visible:outline-sky-600 dark:text-slate-200 dark:hover:bg-slate-700"
          items={[
            member.admin
              ? { label: "Remove as admin", onSelect: () => onAction({ type: "demote", member: member.address }) }
              : { label: "Make admin", onSelect: () => onAction({ type: "promote", member: member.address }) },
            { label: "Remove from group", danger: true, onSelect: () => onAction({ type: "remove", member: member.address }) },
          ]}
        />
      ) : null}
    </li>
  );
}

/** The new name an admin gives the group. */
function RenameGroup({ current, onRename }: { current: string; onRename: (name: string) => Promise<void> }) {
  return (
    <OneFieldForm
      label="New group name"
      submitLabel="Save"
      initial={current}
      inputProps={{ maxLength: 100 }}
      onSubmit={async (value) => {
        const name = value.trim();
        if (!name) return "Give the group a name.";
        if (name !== current) await onRename(name);
        return null;
      }}
    />
  );
}

function AddMembers({ iAmAdmin, onAdd }: { iAmAdmin: boolean; onAdd: (members: string[]) => Promise<void> }) {
  return (
    <OneFieldForm
      label="Add member"
      submitLabel="Add"
      note={iAmAdmin ? undefined : "Only admins of this group can add members."}
      inputProps={ADDRESS_INPUT}
      onSubmit={async (value) => {
        const parts = value.split(/[\s,]+/).filter(Boolean);
        const parsed = parts.map(parseMember);
        const bad = parsed.find((p) => "error" in p);
        if (parts.length === 0) return "Type an address, as brand:handle.";
        if (bad && "error" in bad) return bad.error;
        await onAdd(parsed.map((p) => ("address" in p ? p.address : "")));
        return null;
      }}
    />
  );
}

/** One labelled text field and its button; `onSubmit` answers what is wrong with the value, or null. */
function OneFieldForm({
  label,
  submitLabel,
  initial = "",
  note,
  inputProps,
  onSubmit,
}: {
  label: string;
  submitLabel: string;
  initial?: string;
  note?: string;
  inputProps: InputHTMLAttributes<HTMLInputElement>;
  onSubmit: (value: string) => Promise<string | null>;
}) {
  const [value, setValue] = useState(initial);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const ids = { input: useId(), error: useId() };
  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    const problem = await onSubmit(value);
    setBusy(false);
    setError(problem);
  }
  return (
    <form onSubmit={submit} noValidate className="flex flex-col gap-1">
      <label htmlFor={ids.input} className="text-sm font-medium">
        {label}
      </label>
      {note ? <p className="text-xs text-slate-600 dark:text-slate-400">{note}</p> : null}
      <div className="flex gap-2">
        <input
          id={ids.input}
          data-autofocus
          {...inputProps}
          value={value}
          onChange={(e) => setValue(e.target.value)}
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? ids.error : undefined}
          className="min-w-0 flex-1 rounded-lg border border-slate-300 bg-white px-3 py-2 text-base outline-none focus:border-sky-500 focus:ring-2 focus:ring-sky-500/30 dark:border-slate-700 dark:bg-slate-950"
        />
        <button
          type="submit"
          disabled={busy}
          className="rounded-lg bg-sky-700 px-3 text-sm font-semibold text-white hover:bg-sky-800 focus-visible:outline-2 focus-visible:outline-sky-500 disabled:opacity-60"
        >
          {submitLabel}
        </button>
      </div>
      {error ? (
        <p id={ids.error} role="alert" className="text-sm text-red-800 dark:text-red-200">
          {error}
        </p>
      ) : null}
    </form>
  );
}
