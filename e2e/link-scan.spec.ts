// Linking by the camera: Chromium's fake camera plays a Y4M file, and Alice's primary reads the link code the
// new browser shows from it with "Scan with camera", names the new device and links it once confirmed. The
// file shows a blank picture when Chromium starts and the QR code only once the new browser has its code, so
// the link also proves that Chromium reads the file when the capture starts. "Stop camera" and a successful
// read both stop the camera. A refused camera says so, and the pasted code still works.
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Page } from "@playwright/test";
import QRCode from "qrcode";
import { expect, test } from "./fixtures";
import { handles } from "./flows";
import { BASE_URL, CHROMIUM_ARGS, CHROMIUM_PATH, E2E_PORT } from "./env";
import { JunctionPage } from "./pages/app";
import { NAMES } from "./plaintexts";

const WIDTH = 640;
const HEIGHT = 480;
const CAMERA_FILE = join(tmpdir(), `junction-link-scan-${E2E_PORT}.y4m`);

/** Three frames of grayscale 4:2:0 video (Y4M, the format Chromium's fake camera plays; 640×480, the size
 *  it delivers by default, so nothing is rescaled): white, with `text` as a black-on-white QR code with its
 *  4-module quiet zone in the middle when given. */
function y4m(text?: string): Buffer {
  const luma = Buffer.alloc(WIDTH * HEIGHT, 255);
  if (text !== undefined) {
    const { modules } = QRCode.create(text, { errorCorrectionLevel: "M" });
    const cell = Math.floor(HEIGHT / (modules.size + 8));
    const left = Math.floor((WIDTH - cell * modules.size) / 2);
    const top = Math.floor((HEIGHT - cell * modules.size) / 2);
    for (let row = 0; row < modules.size; row++) {
      for (let col = 0; col < modules.size; col++) {
        if (!modules.get(row, col)) continue;
        for (let y = 0; y < cell; y++) {
          const start = (top + row * cell + y) * WIDTH + left + col * cell;
          luma.fill(0, start, start + cell);
        }
      }
    }
  }
  const chroma = Buffer.alloc((WIDTH / 2) * (HEIGHT / 2) * 2, 128);
  const frame = Buffer.concat([Buffer.from("FRAME\n"), luma, chroma]);
  return Buffer.concat([Buffer.from(`YUV4MPEG2 W${WIDTH} H${HEIGHT} F10:1 Ip A1:1 C420jpeg\n`), frame, frame, frame]);
}

// a camera from the start (Chromium lists it only if the file is there), showing nothing to read yet
writeFileSync(CAMERA_FILE, y4m());

/** Keeps every stream the page's camera gives, to check later that its tracks were stopped. */
function keepCameraStreams(): void {
  if (!navigator.mediaDevices) return;
  const kept: MediaStream[] = [];
  (window as unknown as { cameraStreams: MediaStream[] }).cameraStreams = kept;
  const getUserMedia = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  navigator.mediaDevices.getUserMedia = async (constraints) => {
    const stream = await getUserMedia(constraints);
    kept.push(stream);
    return stream;
  };
}

function cameraTracks(page: Page): Promise<string[]> {
  return page.evaluate(() => (window as unknown as { cameraStreams: MediaStream[] }).cameraStreams.flatMap((s) => s.getTracks().map((t) => `${t.kind} ${t.readyState}`)));
}

async function openLinkForm(page: Page) {
  await page.getByRole("button", { name: "Settings", exact: true }).click();
  await page.getByRole("dialog", { name: "Settings" }).getByRole("button", { name: "Linked devices" }).click();
  const devices = page.getByRole("dialog", { name: "Linked devices" });
  await devices.getByRole("button", { name: "Link a device" }).click();
  return devices;
}

test.use({
  launchOptions: {
    executablePath: CHROMIUM_PATH,
    args: [...CHROMIUM_ARGS, "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream", `--use-file-for-fake-video-capture=${CAMERA_FILE}`],
  },
});

test("the primary scans the new browser's QR code with the camera and links it; the camera stops each time", async ({ person }) => {
  const alice = await person({ permissions: ["camera"] });
  const laptop = await person();
  const page = alice.app.page;
  await page.addInitScript(keepCameraStreams);
  await alice.app.open();
  await alice.app.createAccount("Messenger", handles("scan").messenger, NAMES.alice);

  // the camera's picture plays in the dialog, and "Stop camera" closes it and releases the camera
  const devices = await openLinkForm(page);
  await devices.getByRole("button", { name: "Scan with camera" }).click();
  await expect(devices.getByLabel("Camera")).toBeVisible();
  await expect.poll(() => devices.getByLabel("Camera").evaluate((v: HTMLVideoElement) => v.videoWidth)).toBe(WIDTH);
  await devices.getByRole("button", { name: "Stop camera" }).click();
  await expect(devices.getByLabel("Camera")).toHaveCount(0);
  expect(await cameraTracks(page)).toEqual(["video ended"]);

  // a page that is hidden (another tab in front) turns the camera off too
  await devices.getByRole("button", { name: "Scan with camera" }).click();
  await expect.poll(() => devices.getByLabel("Camera").evaluate((v: HTMLVideoElement) => v.videoWidth)).toBe(WIDTH);
  await page.evaluate(() => {
    Object.defineProperty(document, "visibilityState", { configurable: true, get: () => "hidden" });
    document.dispatchEvent(new Event("visibilitychange"));
  });
  await expect(devices.getByLabel("Camera")).toHaveCount(0);
  expect(await cameraTracks(page)).toEqual(["video ended", "video ended"]);
  await page.evaluate(() => {
    Object.defineProperty(document, "visibilityState", { configurable: true, get: () => "visible" });
  });

  // the new browser shows its code; the camera now sees it, and the first frame read goes on as a pasted code
  await laptop.app.page.getByRole("button", { name: "Link to an existing account" }).click();
  const code = await laptop.app.page.getByRole("textbox", { name: "Link code" }).inputValue();
  expect(code).toMatch(/^[A-Za-z0-9_-]{60,}$/);
  writeFileSync(CAMERA_FILE, y4m(code));
  await devices.getByRole("button", { name: "Scan with camera" }).click();
  const confirm = devices.getByRole("group", { name: "Confirm the new device" });
  await expect(confirm).toContainText(/Link Chrome on \w+ to your accounts\?/);
  // read once, the camera is off: the picture is gone and every stream's tracks are stopped
  await expect(devices.getByLabel("Camera")).toHaveCount(0);
  expect(await cameraTracks(page)).toEqual(["video ended", "video ended", "video ended"]);

  await confirm.getByRole("button", { name: "Confirm" }).click();
  await expect(devices.getByRole("status")).toHaveText(/^Linked Chrome/);
  await expect(devices.getByRole("list", { name: "Devices" }).getByRole("listitem")).toHaveCount(2);
  // the new browser leaves first run with Alice's account
  await expect(laptop.app.page.getByText("No conversations yet")).toBeVisible();
});

test("a refused camera says so, and the pasted code still works", async ({ playwright }) => {
  // a browser of its own, whose permission prompt (Chromium's own, faked) answers "Block"
  const browser = await playwright.chromium.launch({ executablePath: CHROMIUM_PATH, args: [...CHROMIUM_ARGS, "--use-fake-ui-for-media-stream=deny", "--use-fake-device-for-media-stream"] });
  try {
    const alice = new JunctionPage(await (await browser.newContext({ baseURL: BASE_URL })).newPage());
    await alice.open();
    await alice.createAccount("Messenger", handles("noscan").messenger, NAMES.alice);
    const devices = await openLinkForm(alice.page);
    await devices.getByRole("button", { name: "Scan with camera" }).click();
    await expect(devices.getByRole("alert")).toHaveText("Junction may not use the camera. Paste the code instead.");
    await expect(devices.getByLabel("Camera")).toHaveCount(0);
    await expect(devices.getByRole("button", { name: "Scan with camera" })).toBeVisible();
    await devices.getByRole("textbox", { name: "Link code" }).fill("not a code");
    await devices.getByRole("button", { name: "Link device" }).click();
    await expect(devices.getByRole("alert")).toHaveText("That is not a link code.");
  } finally {
    await browser.close();
  }
});
