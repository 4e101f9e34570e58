from access.app import main

main()
