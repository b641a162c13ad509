// A one-time message carried across a navigation or a full page load.
import type { KeyValueStore } from './auth';

const KEY = 'storefront.flash';

export function setFlash(storage: KeyValueStore, message: string): void {
  try {
    storage.setItem(KEY, message);
  } catch {
    // Best effort.
  }
}

export function takeFlash(storage: KeyValueStore): string | null {
  try {
    const message = storage.getItem(KEY);
    if (message !== null) storage.removeItem(KEY);
    return message;
  } catch {
    return null;
  }
}
