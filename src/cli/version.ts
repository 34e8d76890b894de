/** The version the CLI prints (--version) and names in the reports it writes. */
export const VERSION = "0.1.0";
