// Every message text and display name the specs use, in one place: the at-rest spec checks
// that none of them reached the relay's disk or logs.
export const NAMES = {
  alice: "Alice Smith",
  bob: "Bob Jones",
  carol: "Carol Ng",
  dave: "Dave Okafor",
  erin: "Erin Park",
  frank: "Frank Meyer",
  gina: "Gina Rossi",
  hugo: "Hugo Brandt",
  ivy: "Ivy Lindqvist",
  jon: "Jon Takahashi",
  ana: "Ana Ruiz",
  ben: "Ben Adeyemi",
  cy: "Cy Moreau",
  dee: "Dee Walsh",
} as const;

export const TEXT = {
  // 1, 2
  aliceHello: "Hi Bob, Alice here on Messenger: lunch on Thursday?",
  bobReply: "Thursday works, see you at the ferry terminal cafe",
  aliceAfterReload: "Still here after a reload: kestrel marmalade",
  bobAfterReload: "Same session on my side too: quokka lantern",
  // 3
  beforeOffline: "Before going offline: the gull on the pier",
  offline: ["offline one: the heron waits", "offline two: the tide turns", "offline three: the lamp is lit"],
  // 4
  beforeClose: "Before your tab closes: a sealed envelope",
  backlog: Array.from({ length: 20 }, (_, i) => `backlog ${String(i + 1).padStart(2, "0")}: pelican ${i * 7 + 3}`),
  // 5
  toCarolWhatsapp: "Carol, this reaches your WhatsApp from Instagram",
  toCarolInstagram: "Carol, this reaches your Instagram from Messenger",
  toCarolMessenger: "Carol, this reaches your Messenger from WhatsApp",
  // 7, 8
  installHello: "Installed or not, this is a cobalt kite",
  offlineHistory: "History that must open offline: saffron lighthouse",
  // 9
  xss: `<img src=x onerror="window.__pwned=1">`,
  xssLast: `<script>window.__pwned=2</script><b onmouseover="window.__pwned=3">bold?</b>`,
  multiline: ["first line of a two-line note", "second line: the violet harbour"],
  // narrow screen
  narrow: "Small screen, same inbox: a folded paper boat",
  // notifications
  notifyVisible: "You are looking: no notification for this moss garden",
  notifyHidden: "You looked away: notify me about the silver fox",
  // 10
  twoTabsSetup: "Opening line for Ivy: the brass anchor",
  twoTabsFirst: "To both of Ivy's tabs: the first copper kettle",
  twoTabsAfterHandover: "After the handover: the second copper kettle",
  twoTabsFromFollower: "Sent from Ivy's second tab: walnut compass",
  // simultaneous start
  simultaneousFirst: ["Written offline first, from Jon: the amber tram", "Written offline too, from Carol: the teal ferry"],
  simultaneousJon: ["Jon again: the cedar bench", "Jon, burst one: the copper gate", "Jon, burst two: the linen kite"],
  simultaneousCarol: ["Carol again: the slate roof", "Carol, burst one: the plum orchard", "Carol, burst two: the pewter spoon"],
  // lost session
  lostSessionSetup: "Before Frank's device forgets us: the juniper path",
  lostSessionSetupReply: "Frank answers while he still remembers: the birch canoe",
  lostSessionAfter: "After Frank's session is gone: the quartz lantern",
  lostSessionReply: "Frank answers in a fresh session: the walnut clock",
  // message states
  statesSetup: "Setting the scene for the odd bubbles: the maple ledger",
  statesFailed: "Staged as not sent, then retried: the indigo parcel",
  statesHeld: "Held until the new number is accepted: the saffron bell",
  // not sent
  notSent: "This must not go without a post-quantum key: the cobalt owl",
  // text: links, right-to-left, emoji, runs
  textSetup: "Opening the text tests: the paper crane",
  rtl: "שלום, נפגשים מחר בנמל הישן",
  rtlPreview: "مرحبا، أراك غدا عند المرفأ القديم",
  ltrAfterRtl: "And back to left-to-right: the lime kiln",
  links: "Docs at https://example.com/guide?page=2 but never javascript:alert(document.domain) here",
  emojiOnly: "🎉🦊",
  runFirst: "First of a run: the tin whistle",
  runSecond: "Second of the run: the brass bell",
  // message actions
  actionsSetup: "The message that will be quoted: the granite quay",
  actionsFiller: Array.from({ length: 40 }, (_, i) => `filler ${String(i + 1).padStart(2, "0")}: the drifting buoy ${i * 3 + 1}`),
  actionsReply: "Replying to the quay: the tide is out",
  actionsEditBefore: "Meet at the tanner's gate at nine",
  actionsEditAfter: "Meet at the tanner's gate at ten",
  actionsAck: "Got it, go ahead with the edits: the oak table",
  actionsLate: "Too late to edit this one: the sundial",
  actionsDeleteAll: "Delete this for everyone: the ink blot",
  actionsDeleteMe: "Delete this only for me: the pencil mark",
  // read receipts
  receiptsSetup: "Receipts on both sides: the blue heron",
  receiptsRead: "Read this when you see it: the cinnamon lamp",
  receiptsOff: "Receipts off now: the grey moth",
  // typing, disappearing
  typingSetup: "About to type something: the walnut desk",
  typingDraft: "I am typing this slowly",
  disappearingSetup: "Before the timer: the morning fog",
  disappearing: "This will vanish: the snow angel",
  // reading long conversations
  readingSetup: "Start of the long read: the lighthouse keeper",
  readingBacklog: Array.from({ length: 40 }, (_, i) => `log line ${String(i + 1).padStart(2, "0")}: the keeper counts ${i * 11 + 2} ships`),
  readingLate: "One more while you were reading: the fog horn",
  // drafts, inbox actions
  draftSetup: "A chat to leave a draft in: the quiet library",
  draft: "Half-written thought about the orchard",
  inboxSetup: "For the inbox actions: the folded map",
  inboxMuted: "While muted: the silent bell",
  // settings
  settingsSetup: "Before logging out: the last lantern",
  // one person across brands
  peopleFromInstagram: "From my Instagram: the paper crane",
  peopleFromWhatsapp: "From my WhatsApp: the copper kettle",
  peopleViaWhatsapp: "Back to your WhatsApp: the amber lamp",
  peopleViaInstagram: "Back to your Instagram: the linen kite",
  // search
  searchSetup: "Something to search for later: the marble staircase",
  searchEnglish: "Let's meet by the old windmill at dawn",
  searchJapanese: "私は東京に住んでいます",
  searchAccent: "The crème brûlée was perfect",
  searchVanish: "Gone soon: the violet zeppelin",
  // attachments (captions and file names travel only inside the encrypted content)
  attachSetup: "Sending you the photos from the boat trip",
  attachCaption: "The harbour at dusk, where the otters sleep",
  attachFileName: "otter-census-quarterly.bin",
  attachTamperedName: "tide-tables-altered.bin",
  voiceSetup: "I will send you a voice note about the ferry times",
  // attachments picked several at once, pasted and dropped
  composeSetup: "Photos of both coves coming up",
  composeCaption: "North cove first, then the south one",
  composePastedName: "cove-tide-times.pdf",
  composeDroppedName: "cove-birds-tally.csv",
  // transfers cancelled midway
  cancelSetup: "The ferry timetable scan, if it goes through",
  cancelFileName: "ferry-timetable-winter.bin",
  // a download whose tab closes midway, taken over by the other tab
  handoverAsk: "Could you send me the harbour survey?",
  handoverSetup: "The harbour survey is on its way to you",
  handoverFileName: "harbour-survey-soundings.bin",
  // attachments through a relay that is killed, full or forgetting
  relaySetup: "The lighthouse logbook scans are on their way",
  relayResumeName: "lighthouse-logbook-1908.bin",
  relayQuotaName: "fog-signal-recordings.bin",
  relayStorageName: "keeper-letters-scanned.bin",
  relayExpiredName: "old-chart-of-the-sound.bin",
  // groups (the group's name travels only inside encrypted changes)
  groupName: "Lighthouse weekend",
  groupHello: "Hello all: the lighthouse keeper says yes",
  groupReply: "Count me in, I will bring the lanterns",
  groupCy: "Cy here from Messenger: I have the ferry tickets",
  groupWelcome: "Welcome Dee, the boat leaves at nine",
  groupAfterBen: "Only for those still here: the north cove",
  groupMention: "can you bring the tide chart",
  groupTyping: "Still packing the lante",
  // group admin: rename, demote, the group's disappearing timer
  adminGroupName: "Harbour choir",
  adminGroupRenamed: "Harbour choir: winter season",
  adminHello: "Rehearsal moves to the boathouse",
  adminBen: "Ben here, I will bring the tenor scores",
  adminCy: "Cy here, the piano is tuned",
  adminVanishing: "The set list, for this week only",
  // linked devices: a photo that travels with the history
  historyPhoto: "The lighthouse at dusk, before the link",
  // a short conversation: the page goes idle after a message is sent
  shortFirst: "A short one: the kettle is on",
  shortSecond: "And a second: the biscuits are in the tin",
  framesFileName: "harbour-tide-table.bin",

} as const;

export function allPlaintexts(): string[] {
  return [...Object.values(NAMES), ...Object.values(TEXT).flat()];
}
