/**
 * The console page declares the JSON it reads in console/src/consoleTypes.ts (the page is
 * compiled for the browser, apart from the server). These checks fail the build when what the
 * server sends stops fitting what the page reads. Types only: nothing here runs.
 */
import type { AskAnswer as ServerAskAnswer } from '../ask/askService.js';
import type { BackfillStatus } from '../backfill/backfillService.js';
import type { AskAnswer, BackfillView, KickWindowView } from '../../console/src/consoleTypes.js';
import type { KickWindow } from '../events/kickStore.js';

type Fits<Sent extends Read, Read> = Sent;

export type AskAnswerFits = Fits<ServerAskAnswer, AskAnswer>;
export type BackfillFits = Fits<BackfillStatus, BackfillView>;
export type KickWindowFits = Fits<Omit<KickWindow, 'etag' | 'goldClaim'> & { retryable: boolean }, KickWindowView>;
