/**
 * Masks credentials inside free text (error messages carry connection strings more often than
 * one would like): account keys, passwords in URLs and connection strings, SAS signatures,
 * bearer tokens and Databricks personal access tokens.
 */
const PATTERNS: [RegExp, string][] = [
  [/(AccountKey|SharedAccessKey|Password|Pwd)=([^;\s]+)/gi, '$1=[redacted]'],
  [/(\w+:\/\/[^:/?#\s]+):([^@/\s]+)@/g, '$1:[redacted]@'],
  [/([?&]sig=)[^&\s]+/gi, '$1[redacted]'],
  [/(Bearer\s+)[A-Za-z0-9._~+/=-]+/g, '$1[redacted]'],
  [/\bdapi[0-9a-f]{32}\b/g, '[redacted]'],
];

export function redactSecrets(text: string): string {
  let out = text;
  for (const [re, replacement] of PATTERNS) out = out.replace(re, replacement);
  return out;
}
