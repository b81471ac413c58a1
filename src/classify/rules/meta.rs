//! Parsing and structure rules.

rules! {
    PARSE_ERROR = ("parse.error", Ambiguous, "The command could not be parsed as shell, so its effect cannot be known.");
    PARSE_COMPLEX = ("parse.complex", Ambiguous, "The command is too large or too deeply nested to analyse safely.");
    DYNAMIC_PROGRAM = ("exec.dynamic_program", Ambiguous, "The program to run is computed at run time (variable or substitution), so it cannot be checked.");
    DYNAMIC_ARITH = ("exec.dynamic_arith", Ambiguous, "An arithmetic expression runs a command substitution.");
    ROOT_SHELL = ("exec.root_shell", Ambiguous, "Opens an interactive root shell.");
    SHELL_STDIN_UNKNOWN = ("exec.shell_stdin", Ambiguous, "A shell reads commands from a pipe whose content cannot be checked.");
    REMOTE_COMMAND = ("exec.remote_command", Ambiguous, "Runs a command on another machine whose content cannot be fully checked.");
}
