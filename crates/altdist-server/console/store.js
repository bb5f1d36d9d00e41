// "Remember on this browser": the API key as a non-extractable CryptoKey in IndexedDB. The
// browser keeps the key object; its bytes cannot be read back, by this page or any other.

const DB = "altdist-console";
const STORE = "credentials";
const KEY = "current";

function open() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function run(mode, action) {
  const db = await open();
  try {
    return await new Promise((resolve, reject) => {
      const transaction = db.transaction(STORE, mode);
      const request = action(transaction.objectStore(STORE));
      transaction.oncomplete = () => resolve(request.result);
      transaction.onerror = () => reject(transaction.error);
      transaction.onabort = () => reject(transaction.error);
    });
  } finally {
    db.close();
  }
}

// Stores {keyId, issuerId, cryptoKey}; the CryptoKey must be non-extractable.
export function remember(credentials) {
  if (credentials.cryptoKey.extractable) {
    return Promise.reject(new Error("refusing to store an extractable key"));
  }
  const { keyId, issuerId, cryptoKey } = credentials;
  return run("readwrite", (store) => store.put({ keyId, issuerId, cryptoKey }, KEY));
}

// The remembered credentials, or null.
export async function recall() {
  try {
    return (await run("readonly", (store) => store.get(KEY))) || null;
  } catch {
    return null;
  }
}

// Forgets the remembered credentials.
export async function forget() {
  try {
    await run("readwrite", (store) => store.delete(KEY));
  } catch {
    // Nothing stored, or storage unavailable: nothing to forget.
  }
}
