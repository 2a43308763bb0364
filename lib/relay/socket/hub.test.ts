// The per-device connection cap keeps the latest logins, whatever order the connections opened in.
import { describe, expect, it } from "vitest";
import type { Connection } from "./connection";
import { Hub } from "./hub";

function fakeConnection(name: string, loginOrder: number, dropped: string[]): Connection {
  return { loginOrder, drop: () => dropped.push(name) } as unknown as Connection;
}

describe("hub", () => {
  it("closes the connections that logged in longest ago, never the one logging in now", () => {
    const hub = new Hub();
    const dropped: string[] = [];
    // "slow" opened first (it is added to the hub first) but finished its login last: it must stay
    const conns = [fakeConnection("slow", 4, dropped), fakeConnection("a", 1, dropped), fakeConnection("b", 2, dropped), fakeConnection("c", 3, dropped)];
    for (const c of conns) hub.add("device", c);
    hub.limitConnections("device", 2);
    expect(dropped).toEqual(["a", "b"]);
    expect(hub.count("device")).toBe(2);
  });
});
