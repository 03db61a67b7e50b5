// The Functions host loads this file (package.json "main"); each import registers one function.
import './ingest-timer.js';
import './ingest-queue.js';
import './ingest-poison.js';
import './backfill-post.js';
import './backfill-get.js';
import './backfill-queue.js';
import './backfill-poison.js';
import './bronze-blob-created.js';
import './databricks-kick.js';
import './databricks-kick-poison.js';
import './ask-post.js';
