// What the Rust side sends and receives: the types are generated from the Rust types
// (generated.ts, kept current by src-tauri's test `models::generated`), under the names
// the UI uses. contract.test.ts checks them against the samples Rust writes. No type here
// ever holds a secret.
export type * from "./generated";
export type { AlertView as Alert, ConnectionView as Connection, ProviderView as Provider } from "./generated";
