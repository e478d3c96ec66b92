/** Base64 with web APIs only (`btoa` takes a binary string; build it in slices to bound the argument list). */
export function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let offset = 0; offset < bytes.length; offset += 0x8000) {
    binary += String.fromCharCode.apply(null, bytes.subarray(offset, offset + 0x8000) as unknown as number[]);
  }
  return btoa(binary);
}
