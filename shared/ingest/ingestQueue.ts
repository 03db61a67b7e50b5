import { JsonQueue } from '../queue/jsonQueue.js';
import type { IngestMessage } from './ingestMessage.js';

/** The work queue between the timer (one message per table) and the queue-triggered extractor. */
export class IngestQueue extends JsonQueue<IngestMessage> {}
