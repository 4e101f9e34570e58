from protection.app import main

main()
