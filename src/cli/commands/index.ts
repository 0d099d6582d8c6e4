import type { Command } from "../command.js";
import { als } from "./als.js";
import { cat } from "./cat.js";
import { extract } from "./extract.js";
import { convert } from "./convert.js";
import { create } from "./create.js";
import { demo } from "./demo.js";
import { diff } from "./diff.js";
import { image } from "./image.js";
import { inspect } from "./inspect.js";
import { ls } from "./ls.js";
import { pull, push } from "./registry.js";
import { verify } from "./verify.js";

/** Every subcommand, in the order `layerkit --help` lists them. */
export const COMMANDS: Command[] = [create, diff, convert, verify, inspect, ls, cat, pull, push, image, extract, als, demo];
