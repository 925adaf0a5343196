// The part of pkcs11js the PKCS#11 key store uses (tests may hand in another implementation), the
// standard PKCS#11 constants it needs, and the CKR_ codes of failed calls.

export type P11Handle = Buffer;
export interface P11Attribute {
  type: number;
  value?: number | boolean | string | Buffer;
}
export interface P11TokenInfo {
  label: string;
  manufacturerID: string;
  model: string;
  serialNumber: string;
  flags: number;
}
export interface Pkcs11Api {
  load(path: string): void;
  C_Initialize(): void;
  C_Finalize(): void;
  C_GetSlotList(tokenPresent: boolean): P11Handle[];
  C_GetTokenInfo(slot: P11Handle): P11TokenInfo;
  C_OpenSession(slot: P11Handle, flags: number): P11Handle;
  C_CloseSession(session: P11Handle): void;
  C_Login(session: P11Handle, userType: number, pin: string): void;
  C_Logout(session: P11Handle): void;
  C_FindObjectsInit(session: P11Handle, template: P11Attribute[]): void;
  C_FindObjects(session: P11Handle, max: number): P11Handle[];
  C_FindObjectsFinal(session: P11Handle): void;
  C_GetAttributeValue(session: P11Handle, object: P11Handle, template: P11Attribute[]): P11Attribute[];
  C_CreateObject(session: P11Handle, template: P11Attribute[]): P11Handle;
  C_DestroyObject(session: P11Handle, object: P11Handle): void;
  C_SignInit(session: P11Handle, mechanism: { mechanism: number }, key: P11Handle): void;
  C_Sign(session: P11Handle, data: Buffer, out: Buffer): Buffer;
}

export const CKO_CERTIFICATE = 1;
export const CKO_PUBLIC_KEY = 2;
export const CKO_PRIVATE_KEY = 3;
export const CKA_CLASS = 0x0;
export const CKA_TOKEN = 0x1;
export const CKA_PRIVATE = 0x2;
export const CKA_LABEL = 0x3;
export const CKA_VALUE = 0x11;
export const CKA_CERTIFICATE_TYPE = 0x80;
export const CKA_KEY_TYPE = 0x100;
export const CKA_SUBJECT = 0x101;
export const CKA_ID = 0x102;
export const CKA_SENSITIVE = 0x103;
export const CKA_SIGN = 0x108;
export const CKA_VERIFY = 0x10a;
export const CKA_EXTRACTABLE = 0x162;
export const CKA_EC_PARAMS = 0x180;
export const CKA_EC_POINT = 0x181;
export const CKA_VENDOR_DEFINED = 0x80000000;
export const CKK_EC = 3;
export const CKC_X_509 = 0;
export const CKM_ECDSA = 0x1041;
export const CKU_SO = 0;
export const CKU_USER = 1;
export const CKF_RW_SESSION = 0x2;
export const CKF_SERIAL_SESSION = 0x4;
export const CKF_TOKEN_INITIALIZED = 0x400;
export const CKF_USER_PIN_COUNT_LOW = 0x10000;
export const CKF_USER_PIN_FINAL_TRY = 0x20000;
export const CKF_USER_PIN_LOCKED = 0x40000;

export const CKR = {
  GENERAL_ERROR: 0x5,
  DEVICE_ERROR: 0x30,
  DEVICE_MEMORY: 0x31,
  DEVICE_REMOVED: 0x32,
  FUNCTION_CANCELED: 0x50,
  PIN_INCORRECT: 0xa0,
  PIN_EXPIRED: 0xa3,
  PIN_LOCKED: 0xa4,
  SESSION_CLOSED: 0xb0,
  SESSION_HANDLE_INVALID: 0xb3,
  TOKEN_NOT_PRESENT: 0xe0,
  TOKEN_NOT_RECOGNIZED: 0xe1,
  USER_ALREADY_LOGGED_IN: 0x100,
  USER_NOT_LOGGED_IN: 0x101,
  USER_ANOTHER_ALREADY_LOGGED_IN: 0x104,
  CRYPTOKI_ALREADY_INITIALIZED: 0x191,
  FUNCTION_REJECTED: 0x200,
} as const;

/** The CKR_ code of a pkcs11js error, if it carries one. */
export function ckrCode(e: unknown): number | undefined {
  if (typeof e !== 'object' || e === null) return undefined;
  const code = (e as { code?: unknown }).code;
  if (typeof code === 'number' && code !== 0) return code;
  const m = /CKR_[A-Z_]+:(\d+)/.exec(String((e as { message?: unknown }).message ?? ''));
  return m ? Number(m[1]) : undefined;
}

/** The CKR_ name of a pkcs11js error (`CKR_PIN_INCORRECT`), or its message. */
export function ckrName(e: unknown): string {
  const msg = String((e as { message?: unknown })?.message ?? e);
  const m = /CKR_[A-Z_]+/.exec(msg);
  return m ? m[0] : msg;
}
