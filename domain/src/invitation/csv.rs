//! `profiles invitations create-collaboration`: the seed's collaborators CSV, one invitation
//! per row, every row's problem reported without dropping the good rows.
