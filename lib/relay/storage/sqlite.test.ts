// The SQLite adapter against the shared storage contract.
import { storeSuite } from "../test/storeSuite";
import { tempDataDir } from "../test/relayProcess";
import { openSqliteStore } from "./sqlite";

storeSuite({
  name: "sqlite",
  async open() {
    const dir = tempDataDir();
    return { store: await openSqliteStore(dir), reopen: () => openSqliteStore(dir) };
  },
});
