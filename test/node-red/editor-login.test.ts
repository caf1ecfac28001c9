import * as fs from 'node:fs';
import { launchBrowser, type TestBrowser } from '../harness/chromium';
import { startNodeRed, type NodeRedInstance } from '../harness/node-red';
import { projectRoot } from '../harness/output';
import { CONFIG_ID, readExample } from './runtime-flow';
import { useSimulator } from './sim-fixture';

jest.setTimeout(120_000);

const IN_NODE = 'e1c0000000000003';

// A user's first login, in the real editor: the echo example is deployed without a
// token; the config dialog's "Log in with WeChat" shows the QR code; the test scans it
// by opening the QR's phone URL and confirms; the dialog fills in the bot; Deploy;
// the bot then answers.
describe('editor: Log in with WeChat', () => {
  const simulator = useSimulator();
  let red: NodeRedInstance;
  let browser: TestBrowser;

  beforeAll(async () => {
    const sim = simulator();
    red = await startNodeRed({ nodesDir: [projectRoot], name: 'node-red-editor-login' });
    const flow = readExample('01 - Echo bot.json');
    const config = flow.find((n) => n.id === CONFIG_ID)!;
    // The QR endpoints live on the API host the dialog names.
    config.baseUrl = sim.apiBaseUrl;
    config.cdnBaseUrl = sim.cdnBaseUrl;
    await red.deploy(flow);
    browser = await launchBrowser({ name: 'editor-login' });
  });
  afterAll(async () => {
    await browser?.close();
    await red?.stop();
  });

  it('shows the QR code, follows the phone, fills in the bot; after Deploy the bot answers', async () => {
    const sim = simulator();
    const page = await browser.newPage();
    await page.goto(red.url, { waitUntil: 'domcontentloaded' });
    await page.locator('.red-ui-palette-node[data-palette-type="ilink-in"]').waitFor({ state: 'attached', timeout: 30_000 });
    await page.waitForFunction((id) => !!(globalThis as any).RED?.nodes?.node(id), IN_NODE, { timeout: 30_000 });

    // Open the wechat-in node, then its bot (the config node) with the pencil button.
    await page.evaluate((id) => (globalThis as any).RED.editor.edit((globalThis as any).RED.nodes.node(id)), IN_NODE);
    // The pencil next to the bot field (its id changed between Node-RED 4 and 5).
    await page.locator('#node-input-btn-bot-edit, #node-input-lookup-bot').first().click();
    const loginButton = page.locator('#ilink-login-button');
    await loginButton.waitFor({ state: 'visible', timeout: 10_000 });
    expect(await page.locator('#ilink-token-state').textContent()).toBe('Not logged in yet.');
    // No password input that could wipe a stored token.
    // (Node-RED's own #red-ui-trap-password, an autofill decoy, is not a credential field.)
    expect(await page.locator('#node-config-input-token').count()).toBe(0);
    expect(await page.locator('.red-ui-tray input[type="password"]:not(#red-ui-trap-password)').count()).toBe(0);

    await loginButton.click();
    const qr = page.locator('#ilink-login-qr');
    await qr.waitFor({ state: 'visible', timeout: 15_000 });
    expect(await qr.getAttribute('src')).toMatch(/^data:image\/png;base64,/);
    expect(await page.locator('#ilink-login-message').textContent()).toBe('Scan this QR code with WeChat on your phone.');
    expect(await page.locator('#node-config-dialog-ok').isDisabled()).toBe(true);
    const screenshot = await browser.screenshot(page, 'node-red-ilink-login-qr');
    expect(fs.statSync(screenshot).size).toBeGreaterThan(10_000);

    // "Scan": open the QR's content (the simulator's phone page), then confirm there.
    const phoneUrl = (await qr.getAttribute('data-qr-content'))!;
    expect(phoneUrl.startsWith(sim.url)).toBe(true);
    const phone = await browser.newPage();
    await phone.goto(phoneUrl);
    await page.locator('#ilink-login-message[data-state="scanned"]').waitFor({ timeout: 15_000 });
    expect(await page.locator('#ilink-login-message').textContent()).toBe('Scanned. Confirm the login on your phone.');
    await phone.locator('#confirm').click();

    await page.locator('#ilink-login-message[data-state="confirmed"]').waitFor({ timeout: 15_000 });
    expect(await page.locator('#ilink-login-message').textContent()).toBe('Connected. Now deploy.');
    const bot = sim.admin.bots().at(-1)!;
    expect(await page.locator('#node-config-input-botId').inputValue()).toBe(bot.botId);
    expect(await page.locator('#node-config-input-ownerUserId').inputValue()).toBe(bot.ownerUserId);
    await browser.screenshot(page, 'node-red-ilink-login-connected');
    // The browser never saw the token.
    expect(await page.content()).not.toContain(bot.token);

    // Update the config node, close the node dialog, deploy.
    await page.locator('#node-config-dialog-ok').click();
    await page.locator('#ilink-login-button').waitFor({ state: 'detached', timeout: 10_000 });
    await page.locator('#node-dialog-ok').click();
    await page.locator('.red-ui-tray').first().waitFor({ state: 'detached', timeout: 10_000 });
    await page.locator('#red-ui-header-button-deploy').click();
    let flows = await red.getFlows();
    for (let i = 0; i < 100 && !flows.flows.some((n) => n.id === CONFIG_ID && n.botId === bot.botId); i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      flows = await red.getFlows();
    }
    await browser.screenshot(page, 'node-red-ilink-login-deployed');
    expect(flows.flows.find((n) => n.id === CONFIG_ID)).toMatchObject({ botId: bot.botId, ownerUserId: bot.ownerUserId });
    expect(JSON.stringify(flows)).not.toContain(bot.token);

    // The deployed bot uses the new token: it answers.
    sim.admin.injectMessage({ botId: bot.botId, from: 'alice@im.wechat', text: 'first words' });
    await sim.admin.waitForSent((r) => r.botId === bot.botId && r.msg.item_list?.[0]?.text_item?.text === 'You said: first words', 20_000);
    expect(red.logText()).not.toContain(bot.token);
  });
});
