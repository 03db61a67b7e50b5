/** A problem with a request's input, naming the field: answered with HTTP 400, never retried. */
export class RequestError extends Error {
  constructor(
    readonly field: string,
    readonly problem: string,
    readonly status = 400,
  ) {
    super(`${field}: ${problem}`);
    this.name = 'RequestError';
  }
}
