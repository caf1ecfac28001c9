/**
 * One simulator per test file, a fresh bot per test, and the matching
 * ilink-config node (token in credentials, as the editor would deploy it).
 */
import { startSimulator } from '../../simulator';

export type Simulator = Awaited<ReturnType<typeof startSimulator>>;
export type SimBot = ReturnType<Simulator['admin']['createBot']>;

export function useSimulator(options: Parameters<typeof startSimulator>[0] = {}): () => Simulator {
  let sim: Simulator | undefined;
  beforeAll(async () => {
    sim = await startSimulator({ port: 0, strict: true, longPollTimeoutMs: 1_000, ...options });
  });
  afterAll(async () => {
    await sim?.stop();
  });
  return () => {
    if (!sim) throw new Error('the simulator is not running');
    return sim;
  };
}

export function configNodeFor(sim: Simulator, bot: SimBot, id = 'bot') {
  return {
    id,
    type: 'ilink-config',
    config: true,
    name: 'test bot',
    baseUrl: bot.baseUrl,
    botId: bot.botId,
    ownerUserId: bot.ownerUserId,
    cdnBaseUrl: sim.cdnBaseUrl,
  };
}

/** A tiny valid PNG (1×1, red), so MIME sniffing sees an image. */
export const PNG_1X1 = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==',
  'base64',
);
