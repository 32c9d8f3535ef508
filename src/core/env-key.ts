// The env_key rule: a portable environment variable name.

const envKeyPattern = /^[A-Za-z_][A-Za-z0-9_]*$/;
export const envKeyMaxLength = 256;

export function isValidEnvKey(value: string): boolean {
  return value.length > 0 && value.length <= envKeyMaxLength && envKeyPattern.test(value);
}
