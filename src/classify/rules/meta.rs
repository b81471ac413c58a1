//! Parsing and structure rules.

rules! {
    PARSE_ERROR = ("parse.error", Ambiguous, "The command could not be parsed as shell, so its effect cannot be known. Split it into simpler commands.");
    PARSE_COMPLEX = ("parse.complex", Ambiguous, "The command is too large or too deeply nested to analyse safely. Split it into simpler commands.");
    DYNAMIC_PROGRAM = ("exec.dynamic_program", Ambiguous, "The program to run is computed at run time (variable or substitution), so it cannot be checked. Name the program literally.");
    DYNAMIC_ARITH = ("exec.dynamic_arith", Ambiguous, "An arithmetic expression runs a command substitution that cannot be checked.");
    ROOT_SHELL = ("exec.root_shell", Ambiguous, "Opens an interactive root shell where nothing is checked. Run the single command with sudo instead.");
    SHELL_STDIN_UNKNOWN = ("exec.shell_stdin", Ambiguous, "A shell reads commands from a pipe whose content cannot be checked. Write the script to a file and run that.");
    REMOTE_COMMAND = ("exec.remote_command", Ambiguous, "Runs a command on another machine whose content cannot be fully checked. Pass the command literally.");
}
