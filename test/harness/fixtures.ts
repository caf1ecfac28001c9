import * as path from 'node:path';
import { projectRoot } from './output';

/** The throwaway fixture package that proves both hosts load our kind of package. */
export const harnessFixtureRoot = path.join(projectRoot, 'test', 'fixtures', 'hosts', 'harness-fixture');

/** Only the compiled n8n files: n8n's glob must not wander into node_modules. */
export const harnessFixtureN8nDir = path.join(harnessFixtureRoot, 'n8n');
